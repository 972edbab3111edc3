namespace Wharf.Core.Metadata;

/// <summary>
/// A blob upload session (OCI "pushing blobs"). Its bytes are an object in the byte store
/// (<c>StoragePaths.UploadChunk</c>), so a session survives a restart and can be resumed: the first
/// chunk creates it and later chunks are appended to it, one writer at a time (V2UploadSessions),
/// each recorded here (<see cref="Size"/>) only once durable; the object may hold more than
/// <see cref="Size"/> bytes after a failed append, and only the first <see cref="Size"/> count.
/// Sessions started before appends existed may name one object per chunk in <see cref="ChunkKeys"/>.
/// When it holds one chunk, that chunk's SHA-256 was computed while it was written and is kept
/// here, so completing the upload needs no second read even after a restart.
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
