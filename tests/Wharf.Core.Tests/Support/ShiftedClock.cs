namespace Wharf.Core.Tests.Support;

/// <summary>The system clock moved by an offset: timestamps follow it, timers stay real.</summary>
internal sealed class ShiftedClock(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
}
