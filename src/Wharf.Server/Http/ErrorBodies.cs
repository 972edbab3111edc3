using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Wharf.Server.Hosting;

namespace Wharf.Server.Http;

/// <summary>
/// Last-resort answers for unhandled exceptions and unmatched routes, in the error format of the
/// protocol the path belongs to: V1 <c>{"error":"…"}</c>, REST <c>{"errors":[…]}</c>. No stack
/// trace or exception text ever reaches a client.
/// </summary>
internal static class ErrorBodies
{
    /// <summary>A 404 with no body and no content type: what docker 1.x needs below /v2 of a V1 registry.</summary>
    public static readonly IResult PlainNotFound = new PlainNotFoundResult();

    public static void UseWharfErrorBodies(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = async context =>
            {
                var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
                var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Wharf.Errors");
                Log.Unhandled(logger, context.Request.Method, context.Request.Path, exception);
                await WriteAsync(context, StatusCodes.Status500InternalServerError, "Internal Server Error");
            },
        });
        app.UseStatusCodePages(context => context.HttpContext.Response.ContentLength is null && !context.HttpContext.Response.HasStarted
            ? WriteAsync(context.HttpContext, context.HttpContext.Response.StatusCode, context.HttpContext.Response.StatusCode == 404 ? "Not found" : "Request failed")
            : Task.CompletedTask);
    }

    private sealed class PlainNotFoundResult : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status404NotFound;
            httpContext.Response.ContentLength = 0;
            return Task.CompletedTask;
        }
    }

    private static Task WriteAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        object body = IsV1(context.Request.Path)
            ? new Dictionary<string, string> { ["error"] = message }
            : new { errors = new[] { new { status, message } } };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted);
    }

    private static bool IsV1(PathString path) =>
        path.StartsWithSegments("/v1") || path.StartsWithSegments("/_ping") || path.Value?.Contains("/v1/", StringComparison.Ordinal) == true;
}
