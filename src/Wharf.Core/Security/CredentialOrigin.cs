namespace Wharf.Core.Security;

/// <summary>The kind of credential a caller authenticated with.</summary>
internal enum OriginKind
{
    Password,
    ApiKey,
    AccessToken,
}

/// <summary>
/// The credential a principal authenticated with, as much of it as a token minted for that
/// principal must remember to die with it (issue #10): the user's immutable id (null for the
/// transient subject of an access token) and its credential generation at the time, the kind, and
/// which credential: the access token's id, or the API key's fingerprint (<c>ApiKeys.Fingerprint</c>);
/// none for a password, which the generation covers. <see cref="Expiry"/> is when the credential
/// itself ends (access tokens); derived tokens never outlive it. It is not part of what a derived
/// token carries: the credential's current record says it.
/// </summary>
internal sealed record CredentialOrigin(OriginKind Kind, string? UserId, long Generation, string? CredentialId, DateTimeOffset? Expiry = null);
