using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Wharf.Core.Security;

namespace Wharf.Server.Ui;

/// <summary>
/// A UI page that shows repository content: it knows its visitor, and sends a visitor without a
/// session to the login page when anonymous access is off.
/// </summary>
internal abstract class UiPage(UiSession session) : PageModel
{
    public Principal Visitor { get; private set; } = Principal.Anonymous;

    /// <summary>The visitor, or a redirect to the login page (with the page to return to).</summary>
    protected async Task<IActionResult?> IdentifyAsync(CancellationToken cancellationToken)
    {
        Visitor = await session.CurrentAsync(cancellationToken);
        ViewData["User"] = Visitor.IsAnonymous ? null : Visitor.DisplayName;
        if (Visitor.IsAnonymous && !await session.AnonymousMayBrowseAsync(cancellationToken))
        {
            return Redirect(UiSetup.Base + "/login?returnUrl=" + Uri.EscapeDataString(Request.Path + Request.QueryString));
        }

        return null;
    }

    /// <summary>A 404 page: what the visitor may not read looks exactly like what does not exist.</summary>
    protected IActionResult NotFoundPage()
    {
        Response.StatusCode = StatusCodes.Status404NotFound;
        return Partial("_NotFound");
    }
}
