namespace Wharf.Core.Metadata;

/// <summary>
/// A blob upload session (OCI "pushing blobs"). Its bytes are chunk objects in the byte store
/// (<c>StoragePaths.UploadChunk</c>), so a session survives a restart and can be resumed. Every
/// write goes to an object of its own, and only the winner of the session's transaction is
/// recorded in <see cref="ChunkKeys"/>: concurrent or retried PATCHes cannot mix their bytes.
/// When it holds one chunk, that chunk's SHA-256 was computed while it was written and is kept
/// here, so completing the upload needs no second read.
/// </summary>
internal sealed record V2Upload(
    string Id,
    string Repo,
    string Image,
    long Size,
    int Chunks,
    string? SingleChunkSha256,
    DateTimeOffset Created,
    DateTimeOffset Updated)
{
    public IReadOnlyList<string> ChunkKeys { get; init; } = [];
}

internal interface IV2UploadRecords
{
    Task<V2Upload?> GetAsync(string id, CancellationToken cancellationToken);

    Task UpsertAsync(V2Upload upload, CancellationToken cancellationToken);

    Task DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every session of the repository <paramref name="repo"/> (compared case-insensitively)
    /// and returns them, so that their chunks can be deleted once this commits.
    /// </summary>
    Task<IReadOnlyList<V2Upload>> DeleteForRepositoryAsync(string repo, CancellationToken cancellationToken);

    /// <summary>Deletes sessions untouched since <paramref name="updatedBefore"/> and returns them (their chunks go next).</summary>
    Task<IReadOnlyList<V2Upload>> DeleteStaleAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken);
}
