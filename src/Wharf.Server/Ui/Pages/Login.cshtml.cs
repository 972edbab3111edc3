using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Wharf.Server.Auth;

namespace Wharf.Server.Ui.Pages;

/// <summary>
/// The login form: the same check as the REST API's Basic credentials (password, API key or
/// access token; the login throttle included), then a UI cookie session.
/// </summary>
internal sealed class LoginModel(UserAuthenticator users) : PageModel
{
    public string? Error { get; private set; }

    public string ReturnUrl { get; private set; } = UiSetup.Base + "/";

    public string Username { get; private set; } = "";

    public void OnGet(string? returnUrl) => ReturnUrl = SafeReturn(returnUrl);

    public async Task<IActionResult> OnPostAsync(string? username, string? password, string? returnUrl, CancellationToken cancellationToken)
    {
        ReturnUrl = SafeReturn(returnUrl);
        Username = username ?? "";
        if (string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password))
        {
            Error = "Enter a username and a password.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        var (outcome, principal) = await users.LoginAsync(username, password, HttpContext.Connection.RemoteIpAddress?.ToString(), cancellationToken);
        if (outcome == LoginOutcome.Ok && principal is not null)
        {
            await UiSession.SignInAsync(HttpContext, principal);
            return LocalRedirect(ReturnUrl);
        }

        (Response.StatusCode, Error) = outcome == LoginOutcome.Throttled
            ? (StatusCodes.Status429TooManyRequests, "Too many login attempts; try again in a moment.")
            : (StatusCodes.Status401Unauthorized, "Wrong username or password, or the account is disabled.");
        return Page();
    }

    /// <summary>Only a page of the UI itself: never an open redirect to another site.</summary>
    private static string SafeReturn(string? returnUrl) =>
        returnUrl is not null && returnUrl.StartsWith(UiSetup.Base + "/", StringComparison.Ordinal) && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.Contains('\\', StringComparison.Ordinal)
            ? returnUrl
            : UiSetup.Base + "/";
}
