using Wharf.Core.Security;

namespace Wharf.Server.Auth;

/// <summary>How registry and V1 tokens write down the credential they were minted with.</summary>
internal static class Origins
{
    public static string Name(OriginKind kind) => kind switch
    {
        OriginKind.Password => "password",
        OriginKind.ApiKey => "apikey",
        _ => "token",
    };

    public static OriginKind? Parse(string? name) => name switch
    {
        "password" => OriginKind.Password,
        "apikey" => OriginKind.ApiKey,
        "token" => OriginKind.AccessToken,
        _ => null,
    };

    /// <summary>The expiry of a derived token: <paramref name="expires"/>, or the minting credential's end if sooner.</summary>
    public static DateTimeOffset Cap(DateTimeOffset expires, CredentialOrigin? origin) =>
        origin?.Expiry is { } end && end < expires ? end : expires;
}
