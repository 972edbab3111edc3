namespace Wharf.Server.Tests.Support;

/// <summary>The system clock moved by an offset that a test may change; timers stay real.</summary>
public sealed class ShiftedClock(TimeSpan offset) : TimeProvider
{
    public TimeSpan Offset { get; set; } = offset;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}
