using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.FileProviders;

namespace Wharf.Server.Ui;

/// <summary>
/// The web UI under <c>/ui/</c>: Razor Pages rendered on the server, a cookie session of its own
/// and its stylesheet. The cookie is read only on <c>/ui</c> paths, so every API route keeps
/// authenticating with its own authenticator exactly as before.
/// </summary>
internal static class UiSetup
{
    public const string Scheme = "WharfUi";
    public const string Base = "/ui";

    public static void AddWharfUi(this IServiceCollection services, string dataDir)
    {
        // The pages are looked up in this assembly, whatever the entry assembly is (a test host, say).
        services.AddRazorPages(options => options.RootDirectory = "/Ui/Pages").AddApplicationPart(typeof(UiSetup).Assembly);
        // Keys on disk so sessions and forms survive a restart. They are kept unencrypted in the data
        // directory, as the registry's signing keys are in its database: whoever reads the data
        // directory holds everything anyway. So the key manager's warning that no XML encryptor is
        // configured says nothing an operator can act on; its errors still show.
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Join(dataDir, "ui-keys")));
        services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error));
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "wharf-ui-af";
            options.Cookie.Path = Base;
        });
        services.AddAuthentication().AddCookie(Scheme, options =>
        {
            options.Cookie.Name = "wharf-ui";
            options.Cookie.Path = Base;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.LoginPath = Base + "/login";
            options.SlidingExpiration = true;
            options.ExpireTimeSpan = TimeSpan.FromHours(8);
        });
        services.AddHttpContextAccessor();
        services.AddScoped<UiSession>();
    }

    public static void MapWharfUi(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments(Base), branch =>
        {
            branch.UseStaticFiles(new StaticFileOptions
            {
                RequestPath = Base + "/static",
                FileProvider = new EmbeddedFileProvider(typeof(UiSetup).Assembly, "Wharf.Server.Ui.wwwroot"),
            });
            branch.UseAuthentication();
        });
        app.MapGet("/", () => Results.Redirect(Base + "/"));
        app.MapRazorPages();
    }
}
