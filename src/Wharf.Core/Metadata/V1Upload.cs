namespace Wharf.Core.Metadata;

/// <summary>
/// An image in the UPLOADING state of docker-v1-protocol §9. It lives outside the tree, so readers
/// never see it; completing it writes the <c>.images/&lt;id&gt;/</c> folder in the same transaction
/// that removes this record.
/// </summary>
internal sealed record V1Upload(
    string Repo,
    string ImageId,
    byte[] Json,
    string? Parent,
    IReadOnlyList<string> Ancestry,
    string? LayerSha256,
    long LayerSize,
    string? PayloadChecksum,
    DateTimeOffset Updated);

internal interface IV1UploadRecords
{
    Task<V1Upload?> GetAsync(string repo, string imageId, CancellationToken cancellationToken);

    Task UpsertAsync(V1Upload upload, CancellationToken cancellationToken);

    Task DeleteAsync(string repo, string imageId, CancellationToken cancellationToken);

    /// <summary>Deletes uploads untouched since <paramref name="updatedBefore"/>; returns how many.</summary>
    Task<int> DeleteStaleAsync(DateTimeOffset updatedBefore, CancellationToken cancellationToken);
}
