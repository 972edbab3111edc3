namespace Wharf.Core.Metadata;

/// <summary>An API key (rest-api §6.6): only its SHA-256 and its first characters are kept.</summary>
internal sealed record ApiKeyRecord(string UserName, string KeySha256, string Prefix, DateTimeOffset Created);

/// <summary>
/// An access token (rest-api §6.7). <see cref="Groups"/> null means the subject's own groups
/// (<c>member-of-groups:*</c>); otherwise exactly the listed groups.
/// <see cref="SubjectId"/> is the immutable id of the user <see cref="Subject"/> named when the
/// token was issued; null when no such user existed (a transient subject, whose rights come only
/// from <see cref="Groups"/>, whatever user of that name appears later).
/// <see cref="ParentId"/> is the access token the issuing caller authenticated with, if any: the
/// token then lives only while every token up that chain is neither revoked nor expired.
/// </summary>
internal sealed record AccessTokenRecord(
    string Id,
    string TokenSha256,
    string? RefreshSha256,
    string Subject,
    IReadOnlyList<string>? Groups,
    string Scope,
    DateTimeOffset Issued,
    DateTimeOffset? Expiry,
    bool Revoked,
    string? SubjectId = null,
    string? ParentId = null);

internal interface ICredentialRecords
{
    Task<ApiKeyRecord?> ApiKeyOfAsync(string user, CancellationToken cancellationToken);

    Task<ApiKeyRecord?> ApiKeyByHashAsync(string keySha256, CancellationToken cancellationToken);

    /// <summary>Stores the user's key, replacing any previous one when <paramref name="replace"/>; false when one exists and may not be replaced.</summary>
    Task<bool> SetApiKeyAsync(ApiKeyRecord key, bool replace, CancellationToken cancellationToken);

    Task<bool> DeleteApiKeyAsync(string user, CancellationToken cancellationToken);

    Task AddTokenAsync(AccessTokenRecord token, CancellationToken cancellationToken);

    Task<AccessTokenRecord?> TokenByHashAsync(string tokenSha256, CancellationToken cancellationToken);

    /// <summary>The token of that id, revoked or not; null when unknown.</summary>
    Task<AccessTokenRecord?> TokenByIdAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// The token of that id and every token above it through <see cref="AccessTokenRecord.ParentId"/>,
    /// revoked or not, nearest first; a missing link ends the list early (its last entry then names a
    /// parent that is absent). At most <paramref name="maxDepth"/> tokens.
    /// </summary>
    Task<IReadOnlyList<AccessTokenRecord>> TokenChainAsync(string id, int maxDepth, CancellationToken cancellationToken);

    Task<AccessTokenRecord?> TokenByRefreshHashAsync(string refreshSha256, CancellationToken cancellationToken);

    Task<IReadOnlyList<AccessTokenRecord>> ListTokensAsync(CancellationToken cancellationToken);

    /// <summary>Revokes every live token of a subject; returns how many.</summary>
    Task<int> RevokeTokensOfAsync(string subject, CancellationToken cancellationToken);

    /// <summary>Revokes by id or by token hash; false when no live token matched.</summary>
    Task<bool> RevokeTokenAsync(string? id, string? tokenSha256, CancellationToken cancellationToken);
}
