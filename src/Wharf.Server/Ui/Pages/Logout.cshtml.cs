using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Wharf.Server.Ui.Pages;

/// <summary>Logout, by POST only (with the antiforgery token): a link or an image cannot log anyone out.</summary>
internal sealed class LogoutModel : PageModel
{
    public IActionResult OnGet() => Redirect(UiSetup.Base + "/");

    public async Task<IActionResult> OnPostAsync()
    {
        await UiSession.SignOutAsync(HttpContext);
        return Redirect(UiSetup.Base + "/login");
    }
}
