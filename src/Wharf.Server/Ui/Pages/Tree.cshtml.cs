using Microsoft.AspNetCore.Mvc;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Storage;
using Wharf.Core.Tree;
using Wharf.Server.Api;
using Wharf.Server.Api.Rest;

namespace Wharf.Server.Ui.Pages;

/// <summary>
/// The tree browser at <c>/ui/repos/tree/General/{repoKey}/{path}</c> (Artifactory's deep link):
/// a folder's readable children a page at a time, or a file's General facts. Authorized as the
/// storage API's reads are; what the visitor may not read answers 404, like what does not exist.
/// </summary>
internal sealed class TreeModel(UiSession session, RepositoryLookup repositories, IMetadataStore store, AccessPolicy policy, StorageReads reads, ContentStore content)
    : UiPage(session)
{
    public const int PageSize = 200;

    public RepositoryConfig Repository { get; private set; } = null!;

    public string ItemPathValue { get; private set; } = "";

    /// <summary>The item at the path; null for the repository root.</summary>
    public TreeItem? Item { get; private set; }

    public IReadOnlyList<TreeItem> Children { get; private set; } = [];

    public int Total { get; private set; }

    public int PageNumber { get; private set; } = 1;

    public int PageCount => Math.Max(1, (Total + PageSize - 1) / PageSize);

    public IReadOnlyDictionary<string, string> Checksums { get; private set; } = new Dictionary<string, string>();

    public async Task<IActionResult> OnGetAsync(string repoKey, string? path, CancellationToken cancellationToken)
    {
        if (await IdentifyAsync(cancellationToken) is { } redirect)
        {
            return redirect;
        }

        if (!ItemPath.TryNormalize(path, out var normalized) || await repositories.FindAsync(repoKey, cancellationToken) is not { } repository)
        {
            return NotFoundPage();
        }

        TreeItem? item = null;
        if (normalized.Length > 0)
        {
            await using var lookup = await store.OpenAsync(cancellationToken);
            item = await lookup.Tree.GetAsync(repository.Key, normalized, cancellationToken);
            if (item is null)
            {
                return NotFoundPage();
            }
        }

        if (!await policy.AllowsAsync(Visitor, repository, normalized, item?.IsFolder ?? true, AccessActions.Read, cancellationToken))
        {
            return NotFoundPage();
        }

        Repository = repository;
        ItemPathValue = normalized;
        Item = item;
        var target = new StorageTarget(repository, normalized, item, Visitor);
        if (item is { IsFolder: false })
        {
            Checksums = await reads.ChecksumsAsync(item.Sha256!, content, cancellationToken);
            return Page();
        }

        // Folders first, then files, each by name; one page of them rendered.
        var children = (await reads.ReadableChildrenAsync(target, cancellationToken))
            .OrderBy(c => c.IsFolder ? 0 : 1).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        Total = children.Count;
        // Read from the query itself: "page" is a route value Razor Pages reserves for the page's name.
        var asked = int.TryParse(Request.Query["page"], System.Globalization.CultureInfo.InvariantCulture, out var number) ? number : 1;
        PageNumber = Math.Clamp(asked, 1, PageCount);
        Children = children.Skip((PageNumber - 1) * PageSize).Take(PageSize).ToList();
        return Page();
    }

    /// <summary>The breadcrumbs: the repository, then each folder down to the item.</summary>
    public IEnumerable<(string Name, string Link)> Crumbs()
    {
        yield return (Repository.Key, UiFormat.TreeLink(Repository.Key, ""));
        var segments = ItemPathValue.Length == 0 ? [] : ItemPathValue.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            yield return (segments[i], UiFormat.TreeLink(Repository.Key, string.Join('/', segments[..(i + 1)])));
        }
    }

    public string PageLink(int number) => UiFormat.TreeLink(Repository.Key, ItemPathValue) + "?page=" + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
