using Microsoft.AspNetCore.Mvc;
using Wharf.Core.Metadata;
using Wharf.Core.Repositories;
using Wharf.Core.Security;

namespace Wharf.Server.Ui.Pages;

/// <summary>The repositories the visitor may read, as the REST API lists them.</summary>
internal sealed class IndexModel(UiSession session, RepositoryService repositories, AccessPolicy policy) : UiPage(session)
{
    public IReadOnlyList<RepositoryConfig> Repositories { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        if (await IdentifyAsync(cancellationToken) is { } redirect)
        {
            return redirect;
        }

        var readable = new List<RepositoryConfig>();
        foreach (var repository in await repositories.ListAsync(cancellationToken))
        {
            // As GET /api/repositories: admins see every repository, blacked-out ones included.
            if (Visitor.IsAdmin || await policy.AllowsAsync(Visitor, repository, "", isFolder: true, AccessActions.Read, cancellationToken))
            {
                readable.Add(repository);
            }
        }

        Repositories = readable;
        return Page();
    }
}
