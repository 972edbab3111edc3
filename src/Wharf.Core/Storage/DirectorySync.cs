namespace Wharf.Core.Storage;

/// <summary>
/// Group commit for directory fsyncs. A caller renames into a directory, then asks for an fsync of
/// it that starts after its rename; while one fsync of the directory runs, every caller that
/// arrives meanwhile waits for the single next one, which starts when the running one ends. So a
/// burst of renames into one folder (upload chunks, blobs sharing a shard) costs one fsync per
/// round, not one each, and no caller returns before an fsync that began after its rename.
/// </summary>
internal sealed class DirectorySync(Action<string> fsync)
{
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);

    private sealed class State
    {
        public bool Running;

        /// <summary>The round that starts when the running one ends; every caller since it began waits for it.</summary>
        public TaskCompletionSource? Next;
    }

    /// <summary>Returns once an fsync of <paramref name="path"/> that started after this call has completed.</summary>
    public Task SyncAsync(string path)
    {
        lock (_states)
        {
            if (!_states.TryGetValue(path, out var state))
            {
                state = new State();
                _states[path] = state;
            }

            if (state.Running)
            {
                state.Next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return state.Next.Task;
            }

            state.Running = true;
        }

        // The first caller of a round runs it on its own thread, as a lone fsync always did.
        var round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Run(path, round);
        return round.Task;
    }

    private void Run(string path, TaskCompletionSource round)
    {
        try
        {
            fsync(path);
            round.SetResult();
        }
        catch (Exception e)
        {
            round.SetException(e);
        }

        TaskCompletionSource next;
        lock (_states)
        {
            var state = _states[path];
            if (state.Next is null)
            {
                state.Running = false;
                _states.Remove(path);
                return;
            }

            next = state.Next;
            state.Next = null;
        }

        // Those who joined during the round just ended get their own round, off this caller's
        // thread so that it returns now.
        _ = Task.Run(() => Run(path, next));
    }
}
