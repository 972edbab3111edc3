using Microsoft.Extensions.Logging;

namespace Wharf.Server.Tests.Support;

/// <summary>Assertions over what a server logged.</summary>
public static class LogAssertions
{
    /// <summary>
    /// Fails when the server logged an error or worse since <paramref name="mark"/> (see
    /// <see cref="CollectingLoggerProvider.Mark"/>). An unhandled exception always ends as one:
    /// Wharf's own "Unhandled exception" line, ASP.NET Core's exception handler and Kestrel's
    /// connection errors all log at Error, so bad input that reaches a 500 is caught here even
    /// when the status code was already sent.
    /// </summary>
    public static void AssertNoServerErrors(this CollectingLoggerProvider logs, int mark = 0)
    {
        var errors = logs.Entries.Skip(mark).Where(e => e.Level >= LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, "the server logged errors:" + string.Concat(errors.Select(e => Environment.NewLine + e)));
    }
}
