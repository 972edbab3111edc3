using Wharf.Core.Metadata;
using Wharf.Core.Operations;
using Wharf.Core.Security;
using Wharf.Server.Hosting;

namespace Wharf.Server.Auth;

/// <summary>
/// The rules of a signed-in caller's own credentials: API keys (rest-api §6.6) and access tokens
/// (§6.7, in CredentialService.Tokens.cs). Each change commits in one transaction, drops cached
/// logins, and writes one audit line; refusals come back as <see cref="OperationResult"/>s.
/// </summary>
internal sealed partial class CredentialService(IMetadataStore store, UserAuthenticator users, TimeProvider time, ILogger<CredentialService> logger)
{
    // ---------------------------------------------------------------- API keys (§6.6)

    /// <summary>
    /// A new API key for the caller, shown once (only its hash is stored); <paramref name="replace"/>
    /// regenerates an existing one, else an existing one is a conflict.
    /// </summary>
    public async Task<(string? ApiKey, OperationResult Result)> CreateApiKeyAsync(Principal caller, bool replace, CancellationToken cancellationToken)
    {
        if (caller.ViaToken)
        {
            // An API key carries all of its owner's rights and never expires; a token may hold fewer,
            // and ends: a key created with one would outlive it (issue #10). So never, admins included.
            return (null, OperationResult.Forbidden("An API key cannot be created with an access token; authenticate with a password."));
        }

        var key = ApiKeys.New();
        await using var tx = await store.BeginAsync(cancellationToken);
        if (!await tx.Credentials.SetApiKeyAsync(new ApiKeyRecord(caller.UserName!, Secrets.Sha256(key), key[..6], time.GetUtcNow()), replace, cancellationToken))
        {
            return (null, OperationResult.Conflict("An API key already exists; use PUT to regenerate it."));
        }

        await tx.CommitAsync(cancellationToken);
        users.Invalidate();
        Log.Audit(logger, replace ? "apiKey.regenerate" : "apiKey.create", caller.UserName!);
        return (key, OperationResult.Ok());
    }

    /// <summary>The first characters of the caller's API key (null when it has none): the key itself is never stored.</summary>
    public async Task<(string? Prefix, OperationResult Result)> ApiKeyPrefixAsync(Principal caller, CancellationToken cancellationToken)
    {
        if (caller.Transient)
        {
            return (null, NoAccountForApiKey);
        }

        await using var session = await store.OpenAsync(cancellationToken);
        return ((await session.Credentials.ApiKeyOfAsync(caller.UserName!, cancellationToken))?.Prefix, OperationResult.Ok());
    }

    /// <summary>Revokes the caller's API key, or (admins only) <paramref name="username"/>'s.</summary>
    public async Task<OperationResult> RevokeApiKeyAsync(Principal caller, string? username, CancellationToken cancellationToken)
    {
        if (username is not null && !caller.IsAdmin)
        {
            return OperationResult.Forbidden("Only administrators may revoke the API keys of other users.");
        }

        if (username is null && caller.Transient)
        {
            return NoAccountForApiKey;
        }

        var owner = username ?? caller.UserName!;
        await using var tx = await store.BeginAsync(cancellationToken);
        var deleted = await tx.Credentials.DeleteApiKeyAsync(owner, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        if (!deleted && username is not null)
        {
            return OperationResult.NotFound($"User '{username}' has no API key.");
        }

        users.Invalidate();
        Log.Audit(logger, "apiKey.revoke", owner);
        return OperationResult.Ok();
    }

    /// <summary>The answer to a transient token subject (no user) about its own API key: a user of its name may exist, and is someone else.</summary>
    private static readonly OperationResult NoAccountForApiKey =
        OperationResult.Forbidden("This access token is for a user that did not exist when it was issued; it has no API key.");

    // ---------------------------------------------------------------- listing and revoking tokens (§6.7)

    /// <summary>Every access token (admins only).</summary>
    public async Task<(IReadOnlyList<AccessTokenRecord>? Tokens, OperationResult Result)> ListTokensAsync(Principal caller, CancellationToken cancellationToken)
    {
        if (!caller.IsAdmin)
        {
            return (null, OperationResult.Forbidden("Only administrators may list tokens."));
        }

        await using var session = await store.OpenAsync(cancellationToken);
        return (await session.Credentials.ListTokensAsync(cancellationToken), OperationResult.Ok());
    }

    /// <summary>
    /// Revokes a token named by its value or by its id: the caller's own (<see cref="Owns"/>), or
    /// any for admins. Tokens minted with it end with it (their chain no longer stands).
    /// </summary>
    public async Task<OperationResult> RevokeTokenAsync(Principal caller, string token, string id, CancellationToken cancellationToken)
    {
        await using var tx = await store.BeginAsync(cancellationToken);
        var record = token.Length > 0 ? await tx.Credentials.TokenByHashAsync(Secrets.Sha256(token), cancellationToken)
            : (await tx.Credentials.ListTokensAsync(cancellationToken)).FirstOrDefault(t => t.Id == id);
        if (record is null || record.Revoked)
        {
            return OperationResult.NotFound("Token not found.");
        }

        if (!caller.IsAdmin && !Owns(caller, record))
        {
            return OperationResult.Forbidden("Only administrators may revoke the tokens of other users.");
        }

        await tx.Credentials.RevokeTokenAsync(record.Id, null, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        users.Invalidate();
        Log.Audit(logger, "token.revoke", record.Subject);
        return OperationResult.Ok();
    }

    /// <summary>
    /// Whether a token is the caller's own: bound to the caller's user id, or both transient under
    /// one name. Never by name alone, which a user created later may share.
    /// </summary>
    private static bool Owns(Principal caller, AccessTokenRecord token) =>
        caller.Origin?.UserId is { } id
            ? token.SubjectId == id
            : caller.Transient && token.SubjectId is null && string.Equals(token.Subject, caller.UserName, StringComparison.OrdinalIgnoreCase);
}
