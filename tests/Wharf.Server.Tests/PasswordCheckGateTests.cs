using Wharf.Server.Auth;
using Wharf.Server.Tests.Support;

namespace Wharf.Server.Tests;

/// <summary>The password check gate: few threads, known sources first, lower queues bounded; known sources remembered for hours.</summary>
public sealed class PasswordCheckGateTests
{
    [Fact]
    public async Task Known_sources_go_first_and_are_never_refused_while_full_lower_queues_refuse_at_once()
    {
        using var gate = new PasswordCheckGate(threads: 1, queueLimit: 2);
        using var busy = new ManualResetEventSlim();
        var order = new List<string>();
        bool Mark(string name)
        {
            lock (order)
            {
                order.Add(name);
            }

            return true;
        }

        // The one thread is busy; then two unknown and two fresh checks queue, a third of each is refused.
        var blocker = BlockAsync(gate, busy, LoginPriority.Unknown);
        var queued = new List<Task<bool?>>
        {
            gate.RunAsync(LoginPriority.Unknown, () => Mark("unknown"), default),
            gate.RunAsync(LoginPriority.Unknown, () => Mark("unknown"), default),
            gate.RunAsync(LoginPriority.Fresh, () => Mark("fresh"), default),
            gate.RunAsync(LoginPriority.Fresh, () => Mark("fresh"), default),
        };
        Assert.Null(await gate.RunAsync(LoginPriority.Unknown, () => Mark("refused"), default));
        Assert.Null(await gate.RunAsync(LoginPriority.Fresh, () => Mark("refused"), default));
        var known = Enumerable.Range(0, 5).Select(_ => gate.RunAsync(LoginPriority.Known, () => Mark("known"), default)).ToList();

        busy.Set();
        Assert.True(await blocker);
        Assert.All(await Task.WhenAll(known.Concat(queued)), answer => Assert.True(answer));
        Assert.Equal(["known", "known", "known", "known", "known", "fresh", "fresh", "unknown", "unknown"], order);
    }

    [Fact]
    public async Task A_cancelled_check_leaves_its_queue_and_never_runs()
    {
        using var gate = new PasswordCheckGate(threads: 1, queueLimit: 1);
        using var busy = new ManualResetEventSlim();
        var blocker = BlockAsync(gate, busy, LoginPriority.Unknown);
        using var cancel = new CancellationTokenSource();
        var ran = false;
        var withdrawn = gate.RunAsync(LoginPriority.Unknown, () => ran = true, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => withdrawn);

        // Its place is free again.
        var next = gate.RunAsync(LoginPriority.Unknown, () => true, default);
        busy.Set();
        Assert.True(await blocker);
        Assert.True(await next);
        Assert.False(ran);
    }

    [Fact]
    public void Known_sources_are_remembered_per_user_and_address_for_hours()
    {
        var clock = new ShiftedClock(TimeSpan.Zero);
        var known = new KnownSources(clock);
        known.Remember("Owner", "127.0.0.1");
        Assert.True(known.Contains("OWNER", "127.0.0.1"));
        Assert.False(known.Contains("owner", "127.0.0.2"));
        Assert.False(known.Contains("other", "127.0.0.1"));
        clock.Offset = KnownSources.RememberFor - TimeSpan.FromMinutes(1);
        Assert.True(known.Contains("owner", "127.0.0.1"));
        clock.Offset = KnownSources.RememberFor;
        Assert.False(known.Contains("owner", "127.0.0.1"));
    }

    /// <summary>Occupies the gate's thread until <paramref name="busy"/> is set; returns once the thread has taken it.</summary>
    private static Task<bool?> BlockAsync(PasswordCheckGate gate, ManualResetEventSlim busy, LoginPriority priority)
    {
        using var started = new ManualResetEventSlim();
        var blocker = gate.RunAsync(priority, () =>
        {
            started.Set();
            return busy.Wait(TimeSpan.FromSeconds(30));
        }, default);
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
        return blocker;
    }
}
