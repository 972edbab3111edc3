using System.Text;

namespace Wharf.Server.Auth;

internal enum CredentialKind
{
    /// <summary>No credentials, or the empty ones docker sends when not logged in (<c>Basic Og==</c>, <c>Token </c>).</summary>
    None,
    Basic,
    Token,
    Bearer,

    /// <summary>Unparseable, oversized or repeated Authorization headers: always 401, never 500.</summary>
    Malformed,
}

internal readonly record struct Credentials(CredentialKind Kind, string User = "", string Secret = "")
{
    public const int MaxHeaderLength = 8192;

    public static Credentials Parse(HttpRequest request)
    {
        var headers = request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return new(CredentialKind.None);
        }

        if (headers.Count > 1 || headers[0] is not { } value || value.Length > MaxHeaderLength)
        {
            return new(CredentialKind.Malformed);
        }

        value = value.Trim();
        var space = value.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? value : value[..space];
        var parameter = space < 0 ? "" : value[(space + 1)..].Trim();
        if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return ParseBasic(parameter);
        }

        if (scheme.Equals("Token", StringComparison.OrdinalIgnoreCase))
        {
            // docker prefixes "Token " itself, so a server that put the prefix into X-Docker-Token
            // gets it twice (docker-v1-protocol §5.3); an empty value is docker 1.6 with no token.
            while (parameter.StartsWith("Token ", StringComparison.OrdinalIgnoreCase))
            {
                parameter = parameter[6..].TrimStart();
            }

            return parameter.Length == 0 || parameter.Equals("Token", StringComparison.OrdinalIgnoreCase)
                ? new(CredentialKind.None)
                : new(CredentialKind.Token, Secret: parameter);
        }

        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return parameter.Length == 0 ? new(CredentialKind.Malformed) : new(CredentialKind.Bearer, Secret: parameter);
        }

        return new(CredentialKind.Malformed);
    }

    private static Credentials ParseBasic(string parameter)
    {
        byte[] decoded;
        try
        {
            decoded = Convert.FromBase64String(parameter);
        }
        catch (FormatException)
        {
            return new(CredentialKind.Malformed);
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(decoded);
        }
        catch (DecoderFallbackException)
        {
            return new(CredentialKind.Malformed);
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return new(CredentialKind.Malformed);
        }

        var user = text[..colon];
        return user.Length == 0 ? new(CredentialKind.None) : new(CredentialKind.Basic, user, text[(colon + 1)..]);
    }
}
