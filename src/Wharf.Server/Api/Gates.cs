namespace Wharf.Server.Api;

/// <summary>
/// Applying a protocol's gate (V1, V2, REST) as endpoint filter: the registered singleton, so that
/// what it caches is shared by every endpoint. A gate authenticates once, authorizes, and hands the
/// handler its caller through the request's features (<c>…Call.Of(context)</c>).
/// </summary>
internal static class Gates
{
    public static RouteHandlerBuilder WithGate<TGate>(this RouteHandlerBuilder builder)
        where TGate : class, IEndpointFilter => Add<TGate, RouteHandlerBuilder>(builder);

    public static RouteGroupBuilder WithGate<TGate>(this RouteGroupBuilder builder)
        where TGate : class, IEndpointFilter => Add<TGate, RouteGroupBuilder>(builder);

    private static TBuilder Add<TGate, TBuilder>(TBuilder builder)
        where TGate : class, IEndpointFilter
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factory, next) =>
        {
            var gate = factory.ApplicationServices.GetRequiredService<TGate>();
            return invocation => gate.InvokeAsync(invocation, next);
        });

    /// <summary>What a gate handed this request's handler; a handler behind no gate of that kind is a wiring bug.</summary>
    public static T Get<T>(HttpContext context)
        where T : class =>
        context.Features.Get<T>() ?? throw new InvalidOperationException($"No {typeof(T).Name}: the endpoint is not behind its gate.");
}
