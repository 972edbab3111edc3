using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Wharf.Server.Tests.Support;

/// <summary>One log call a server made: its level, category and event, the message and the exception.</summary>
public sealed record LogEntry(LogLevel Level, string Category, int EventId, string Message, Exception? Exception)
{
    public override string ToString() => $"{Level} {Category}[{EventId}] {Message} {Exception}";
}

/// <summary>Keeps every log line (message and exception) a server writes, for assertions on logs.</summary>
public sealed class CollectingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<string> Lines => [.. _entries.Select(e => e.ToString())];

    /// <summary>Every entry so far, oldest first.</summary>
    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>How many entries there are now: pass it to <see cref="LogAssertions"/> to look only at what follows.</summary>
    public int Mark => _entries.Count;

    public ILogger CreateLogger(string categoryName) => new Collector(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Collector(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(logLevel, category, eventId.Id, formatter(state, exception), exception));
    }
}
