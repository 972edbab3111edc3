using Wharf.Core.Docker.V2;
using Wharf.Core.Repositories;
using Wharf.Core.Storage;
using Wharf.Core.Tree;

namespace Wharf.Core.Docker;

/// <summary>One difference between the registry's index, the tree and the content store.</summary>
internal sealed record ConsistencyProblem(string Repo, string Path, string Problem);

/// <summary>What a consistency check looked at, and every difference it found (none on a healthy instance).</summary>
internal sealed record ConsistencyReport(int Repositories, int Files, IReadOnlyList<ConsistencyProblem> Problems);

/// <summary>
/// Builds the registry index from the trees of an existing data directory (once, at start-up,
/// after the migration that adds it), and checks it against the trees and the content store.
/// Both apply the one rule of <see cref="V2TreeIndex"/> to every file.
/// </summary>
internal sealed class RegistryIndexCheck(IMetadataStore store, ContentStore content)
{
    /// <summary>The setting that records which version of the index the trees were last read into.</summary>
    public const string BackfillSetting = "registry.index.backfilled";

    private const string BackfillVersion = "1";

    /// <summary>Reads every V2 tree into the index unless that was done; returns how many files were read.</summary>
    public async Task<int> BackfillAsync(CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        if (await tx.Settings.GetAsync(BackfillSetting, cancellationToken) == BackfillVersion)
        {
            return 0;
        }

        var files = 0;
        foreach (var repository in (await tx.Repositories.ListAsync(cancellationToken)).Where(r => r.DockerApiVersion == DockerApiVersion.V2))
        {
            await tx.V2Index.ForgetAsync(repository.Key, "", below: true, cancellationToken);
            foreach (var item in await tx.Tree.ListDescendantsAsync(repository.Key, "", cancellationToken))
            {
                if (!item.IsFolder && V2TreeIndex.MayMatter(item.Path))
                {
                    await V2TreeIndex.IndexFileAsync(tx, content, repository.Key, item.Path, cancellationToken);
                    files++;
                }
            }
        }

        await tx.Settings.SetAsync(BackfillSetting, BackfillVersion, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return files;
    }

    /// <summary>
    /// Compares, in one read snapshot, the index with what the trees say it should hold, and the
    /// trees with the content store: every file's blob stored with its size, every manifest's
    /// recorded references those its bytes give.
    /// </summary>
    public async Task<ConsistencyReport> CheckAsync(CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        var problems = new List<ConsistencyProblem>();
        var repositories = await session.Repositories.ListAsync(cancellationToken);
        var files = 0;
        var checkedContent = new Dictionary<string, long?>(StringComparer.Ordinal);
        foreach (var repository in repositories)
        {
            var repo = repository.Key;
            var expectedManifests = new Dictionary<string, V2ManifestRow>(StringComparer.Ordinal);
            var expectedLinks = new Dictionary<string, V2BlobLinkRow>(StringComparer.Ordinal);
            foreach (var item in await session.Tree.ListDescendantsAsync(repo, "", cancellationToken))
            {
                if (item.IsFolder || item.Sha256 is not { } sha256)
                {
                    continue;
                }

                files++;
                if (!checkedContent.TryGetValue(sha256, out var stored))
                {
                    checkedContent[sha256] = stored = await content.SizeOfAsync(sha256, cancellationToken);
                }

                if (stored != item.Size)
                {
                    problems.Add(new(repo, item.Path, stored is null ? $"content {sha256} is not stored" : $"content {sha256} is {stored} bytes, the tree says {item.Size}"));
                }

                if (repository.DockerApiVersion != DockerApiVersion.V2)
                {
                    continue;
                }

                if (V2TreeIndex.BlobLink(item) is { } link)
                {
                    expectedLinks[item.Path] = link;
                }
                else if (V2TreeIndex.Manifest(item, await session.Tree.GetPropertiesAsync(repo, item.Path, cancellationToken), null) is { } manifest)
                {
                    expectedManifests[item.Path] = manifest;
                    if (stored is not null)
                    {
                        await CheckReferencesAsync(session, manifest, problems, cancellationToken);
                    }
                }
            }

            Compare(repo, expectedLinks, await session.V2Index.AllBlobLinksAsync(repo, cancellationToken), l => l.Path, problems);
            Compare(repo, expectedManifests, await session.V2Index.AllManifestsAsync(repo, cancellationToken), m => m.Path, problems, m => m with { ConfigDigest = null });
        }

        return new ConsistencyReport(repositories.Count, files, problems);
    }

    private async Task CheckReferencesAsync(IMetadataSession session, V2ManifestRow manifest, List<ConsistencyProblem> problems, CancellationToken cancellationToken)
    {
        var expected = await V2TreeIndex.ReadReferencesAsync(content, manifest.Sha256, manifest.MediaType, cancellationToken) ?? [];
        var recorded = await session.V2Index.ReferencesAsync(manifest.Sha256, cancellationToken);
        if (!expected.SequenceEqual(recorded))
        {
            problems.Add(new(manifest.Repo, manifest.Path, $"the index records {recorded.Count} references of manifest {manifest.Sha256}, its bytes give {expected.Count} different ones"));
        }
    }

    private static void Compare<T>(string repo, Dictionary<string, T> expected, IReadOnlyList<T> indexed, Func<T, string> pathOf, List<ConsistencyProblem> problems, Func<T, T>? comparable = null)
        where T : class
    {
        comparable ??= x => x;
        foreach (var row in indexed)
        {
            var path = pathOf(row);
            if (!expected.Remove(path, out var want))
            {
                problems.Add(new(repo, path, $"the index holds a {typeof(T).Name} the tree does not: {row}"));
            }
            else if (!Equals(comparable(want), comparable(row)))
            {
                problems.Add(new(repo, path, $"the index holds {row}, the tree says {want}"));
            }
        }

        foreach (var (path, want) in expected)
        {
            problems.Add(new(repo, path, $"the index lacks {want}"));
        }
    }
}
