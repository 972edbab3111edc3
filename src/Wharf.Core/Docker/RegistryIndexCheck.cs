using Wharf.Core.Docker.V1;
using Wharf.Core.Docker.V2;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
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
/// Both apply the rules of <see cref="V2TreeIndex"/> and <see cref="V1TreeIndex"/> to every file.
/// </summary>
internal sealed class RegistryIndexCheck(IMetadataStore store, ContentStore content)
{
    /// <summary>The setting that records which version of the index the trees were last read into.</summary>
    public const string BackfillSetting = "registry.index.backfilled";

    private const string BackfillVersion = "1";

    /// <summary>Reads every V2 and V1 tree into the index unless that was done; returns how many files were read.</summary>
    public async Task<int> BackfillAsync(CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        if (await tx.Settings.GetAsync(BackfillSetting, cancellationToken) == BackfillVersion)
        {
            return 0;
        }

        var files = 0;
        foreach (var repository in await tx.Repositories.ListAsync(cancellationToken))
        {
            var repo = repository.Key;
            await tx.V2Index.ForgetAsync(repo, "", below: true, cancellationToken);
            await tx.V1Index.ForgetAsync(repo, "", below: true, cancellationToken);
            var images = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in await tx.Tree.ListDescendantsAsync(repo, "", cancellationToken))
            {
                if (item.IsFolder)
                {
                    continue;
                }

                if (repository.DockerApiVersion == DockerApiVersion.V2 && V2TreeIndex.MayMatter(item.Path))
                {
                    await V2TreeIndex.IndexFileAsync(tx, content, repo, item.Path, cancellationToken);
                    files++;
                }
                else if (repository.DockerApiVersion == DockerApiVersion.V1 && V1TreeIndex.MayMatter(item.Path))
                {
                    // An image is read once, from all of its files.
                    if (V1Layout.ImageOf(item.Path) is not { } id || images.Add(id))
                    {
                        await V1TreeIndex.IndexChangeAsync(tx, content, repo, item.Path, deleted: false, cancellationToken);
                    }

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
            var v1 = new V1Expected();
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

                if (repository.DockerApiVersion == DockerApiVersion.V1)
                {
                    await ExpectV1Async(session, item, v1, cancellationToken);
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
            await CompareV1Async(session, repo, v1, problems, cancellationToken);
        }

        return new ConsistencyReport(repositories.Count, files, problems);
    }

    /// <summary>What the V1 files of one repository say the V1 index should hold.</summary>
    private sealed class V1Expected
    {
        public Dictionary<string, List<TreeItem>> ImageFiles { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, V1TagRow> Tags { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, IReadOnlyList<string>> Indexes { get; } = new(StringComparer.Ordinal);
    }

    private async Task ExpectV1Async(IMetadataSession session, TreeItem file, V1Expected expected, CancellationToken cancellationToken)
    {
        if (V1Layout.ImageOf(file.Path) is { } id)
        {
            if (ItemPath.Parent(file.Path) == V1Layout.ImageFolder(id))
            {
                (expected.ImageFiles.TryGetValue(id, out var files) ? files : expected.ImageFiles[id] = []).Add(file);
            }
        }
        else if (V1TreeIndex.Tag(file, await session.Tree.GetPropertiesAsync(file.Repo, file.Path, cancellationToken)) is { } tag)
        {
            expected.Tags[file.Path] = tag;
        }
        else if (V1TreeIndex.IsIndexFile(file))
        {
            expected.Indexes[file.Path] = await V1TreeIndex.ReadIndexAsync(content, file.Sha256!, cancellationToken);
        }
    }

    private async Task CompareV1Async(IMetadataSession session, string repo, V1Expected expected, List<ConsistencyProblem> problems, CancellationToken cancellationToken)
    {
        Compare(repo, expected.Tags, await session.V1Index.AllTagsAsync(repo, cancellationToken), t => t.Path, problems);

        var images = new Dictionary<string, V1ImageRow>(StringComparer.Ordinal);
        foreach (var (id, files) in expected.ImageFiles)
        {
            if (await V1TreeIndex.ImageAsync(content, repo, id, files, cancellationToken) is { } row)
            {
                images[id] = row;
            }
        }

        foreach (var row in await session.V1Index.AllImagesAsync(repo, cancellationToken))
        {
            var path = V1Layout.ImageFolder(row.Id);
            if (!images.Remove(row.Id, out var want))
            {
                problems.Add(new(repo, path, $"the index holds an image the tree does not: {row.Id}"));
            }
            else if (!want.SameAs(row))
            {
                problems.Add(new(repo, path, $"the index holds {Describe(row)}, the tree says {Describe(want)}"));
            }
        }

        foreach (var id in images.Keys)
        {
            problems.Add(new(repo, V1Layout.ImageFolder(id), $"the index lacks image {id}"));
        }

        var indexes = await session.V1Index.AllIndexesAsync(repo, cancellationToken);
        foreach (var path in expected.Indexes.Keys.Union(indexes.Keys))
        {
            var want = expected.Indexes.GetValueOrDefault(path);
            var held = indexes.GetValueOrDefault(path);

            // An index listing nothing has no rows: it is recorded as an empty list.
            if (!(want ?? []).SequenceEqual(held ?? [], StringComparer.Ordinal) || (want is null && held is not null))
            {
                problems.Add(new(repo, path, $"the index lists [{string.Join(",", held ?? [])}], the tree's file [{string.Join(",", want ?? [])}]"));
            }
        }
    }

    private static string Describe(V1ImageRow row) => (row with { Ancestry = null }) + $" ancestry [{string.Join(",", row.Ancestry ?? [])}]";

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
