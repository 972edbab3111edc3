namespace Wharf.Server.Api;

/// <summary>
/// What the protocols' gates (<see cref="V1.V1Gate"/>, <see cref="V2.V2Gate"/>,
/// <see cref="Rest.RestGate"/>) share. A gate is an endpoint filter that authenticates once,
/// authorizes, and hands the handler its call through the request's features (<c>…Call.Of(context)</c>);
/// it is the registered singleton, so that what it caches is shared by every endpoint.
/// </summary>
internal static class Gates
{
    /// <summary>Runs the singleton <typeparamref name="TGate"/> before the endpoint's handler, as <paramref name="filter"/> says.</summary>
    public static TBuilder Apply<TBuilder, TGate>(TBuilder builder, Func<TGate, EndpointFilterDelegate, EndpointFilterDelegate> filter)
        where TBuilder : IEndpointConventionBuilder
        where TGate : notnull =>
        builder.AddEndpointFilterFactory((factory, next) => filter(factory.ApplicationServices.GetRequiredService<TGate>(), next));

    /// <summary>What a gate handed this request's handler; a handler behind no gate of that kind is a wiring bug.</summary>
    public static T Get<T>(HttpContext context)
        where T : class =>
        context.Features.Get<T>() ?? throw new InvalidOperationException($"No {typeof(T).Name}: the endpoint is not behind its gate.");
}
