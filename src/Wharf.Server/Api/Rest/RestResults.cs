using Wharf.Core.Operations;
using Wharf.Core.Security;

namespace Wharf.Server.Api.Rest;

/// <summary>Maps service outcomes to REST responses.</summary>
internal static class RestResults
{
    /// <summary>A failed outcome in the error envelope; a refusal to an anonymous caller is 401 (rest-api §1.5).</summary>
    public static IResult Failure(OperationResult result, Principal? caller = null) => result.Status switch
    {
        OperationStatus.Forbidden when caller is { IsAnonymous: true } => RestErrors.Unauthorized(),
        OperationStatus.Forbidden => RestErrors.Write(403, result.Message),
        OperationStatus.NotFound => RestErrors.Write(404, result.Message),
        OperationStatus.Conflict => RestErrors.Write(409, result.Message),
        _ => RestErrors.Write(400, result.Message),
    };
}
