namespace Wharf.Core.Operations;

/// <summary>How a management operation ended; endpoints map it to their protocol's status codes.</summary>
internal enum OperationStatus
{
    Ok,
    BadRequest,
    Forbidden,
    NotFound,
    Conflict,
}

internal sealed record OperationResult(OperationStatus Status, string Message)
{
    public bool Succeeded => Status == OperationStatus.Ok;

    public static OperationResult Ok(string message = "") => new(OperationStatus.Ok, message);

    public static OperationResult BadRequest(string message) => new(OperationStatus.BadRequest, message);

    public static OperationResult Forbidden(string message) => new(OperationStatus.Forbidden, message);

    public static OperationResult NotFound(string message) => new(OperationStatus.NotFound, message);

    public static OperationResult Conflict(string message) => new(OperationStatus.Conflict, message);
}

internal enum MessageLevel
{
    Info,
    Warning,
    Error,
}

internal sealed record OperationMessage(MessageLevel Level, string Message);

/// <summary>The outcome of a copy or move: request-level failure, or per-item messages.</summary>
internal sealed record CopyMoveResult(OperationResult Request, IReadOnlyList<OperationMessage> Messages)
{
    public bool HasErrors => Messages.Any(m => m.Level == MessageLevel.Error);
}
