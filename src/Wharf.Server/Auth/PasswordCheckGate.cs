namespace Wharf.Server.Auth;

/// <summary>Which queue a password check waits in at the <see cref="PasswordCheckGate"/>, first served first.</summary>
internal enum LoginPriority
{
    /// <summary>From an address that logged in as this user with a correct password lately (<see cref="KnownSources"/>); never refused.</summary>
    Known = 0,

    /// <summary>For a user whose bucket is full: nobody has been guessing at it lately.</summary>
    Fresh = 1,

    /// <summary>Everything else, among it every guess of a flood.</summary>
    Unknown = 2,
}

/// <summary>
/// Runs the password verifications (salted PBKDF2, deliberately slow) of the whole server on a few
/// threads of its own, one per processor by default, so that a flood of guesses from many
/// addresses can neither take every core for long nor block the thread pool that serves every
/// other request (issue #10). Checks wait in one queue per <see cref="LoginPriority"/>; a free
/// thread takes the oldest check of the first non-empty queue. The <see cref="LoginPriority.Known"/>
/// queue is unbounded (its sources are held back by their per-address buckets alone); the two
/// others hold at most <c>queueLimit</c> checks each, and a check arriving at a full one is refused
/// at once.
/// </summary>
internal sealed class PasswordCheckGate : IDisposable
{
    /// <summary>Checks each lower queue holds per thread: about a second of hashing on a busy server.</summary>
    public const int QueuePerThread = 16;

    private readonly Lock _lock = new();
    private readonly LinkedList<Check>[] _queues = [new(), new(), new()];
    private readonly SemaphoreSlim _queued = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _queueLimit;

    public PasswordCheckGate()
        : this(Math.Max(1, Environment.ProcessorCount), QueuePerThread * Math.Max(1, Environment.ProcessorCount))
    {
    }

    public PasswordCheckGate(int threads, int queueLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _queueLimit = queueLimit;
        for (var i = 0; i < threads; i++)
        {
            new Thread(Work) { IsBackground = true, Name = $"wharf-password-{i}" }.Start();
        }
    }

    /// <summary>
    /// Runs <paramref name="verify"/> on one of the gate's threads when its turn comes and returns
    /// its answer; null, at once, when the queue of <paramref name="priority"/> is full (never for
    /// <see cref="LoginPriority.Known"/>). A cancelled caller leaves the queue.
    /// </summary>
    public async Task<bool?> RunAsync(LoginPriority priority, Func<bool> verify, CancellationToken cancellationToken)
    {
        var check = new Check(verify);
        LinkedListNode<Check> node;
        lock (_lock)
        {
            var queue = _queues[(int)priority];
            if (_stopping.IsCancellationRequested || (priority != LoginPriority.Known && queue.Count >= _queueLimit))
            {
                return null;
            }

            node = queue.AddLast(check);
        }

        _queued.Release();

        // Once a thread has taken the check, the node is out of its list and the check runs to its end.
        await using (cancellationToken.Register(() => Withdraw(node, cancellationToken)))
        {
            return await check.Answer.Task;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping.Cancel();
            foreach (var queue in _queues)
            {
                foreach (var check in queue)
                {
                    check.Answer.TrySetCanceled();
                }

                queue.Clear();
            }
        }
    }

    private void Withdraw(LinkedListNode<Check> node, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (node.List is { } queue)
            {
                queue.Remove(node);
                node.Value.Answer.TrySetCanceled(cancellationToken);
            }
        }
    }

    private void Work()
    {
        while (true)
        {
            try
            {
                _queued.Wait(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // One release per check queued; a withdrawn check leaves a release that finds nothing.
            Check? check = null;
            lock (_lock)
            {
                foreach (var queue in _queues)
                {
                    if (queue.First is { } first)
                    {
                        queue.RemoveFirst();
                        check = first.Value;
                        break;
                    }
                }
            }

            if (check is not null)
            {
                try
                {
                    check.Answer.TrySetResult(check.Verify());
                }
                catch (Exception e)
                {
                    check.Answer.TrySetException(e);
                }
            }
        }
    }

    private sealed class Check(Func<bool> verify)
    {
        public Func<bool> Verify { get; } = verify;

        /// <summary>Completed off the gate's threads, so that no continuation runs on them.</summary>
        public TaskCompletionSource<bool> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
