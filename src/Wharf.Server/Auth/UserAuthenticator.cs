using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Caching.Memory;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Server.Hosting;

namespace Wharf.Server.Auth;

internal enum LoginOutcome
{
    Ok,
    Invalid,
    Disabled,

    /// <summary>
    /// Refused for now (429): too many attempts from this address are already waiting, or the queue
    /// for a password check this attempt belongs in is full (PasswordCheckGate). Never for an attempt
    /// from a known source of the user because of other addresses.
    /// </summary>
    Throttled,
}

/// <summary>
/// Verifies user name and password against the salted PBKDF2 hashes of ASP.NET Core Identity.
/// docker 1.x sends Basic on every request of a push, so a successful check is remembered for a
/// minute, keyed by a SHA-256 of the secret (the secret itself is never kept); any change to
/// users or groups forgets them all. The built-in <c>anonymous</c> user cannot log in.
/// </summary>
internal sealed class UserAuthenticator(IMetadataStore store, IPasswordHasher<UserRecord> hasher, IMemoryCache cache, TimeProvider time, LoginThrottle throttle, PasswordCheckGate gate, ILogger<UserAuthenticator> logger)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(60);

    private static readonly UserRecord Nobody = new("", "", false, true);

    /// <summary>Cached in place of a principal for a correct password of a disabled user.</summary>
    private static readonly Principal DisabledMarker = new("\0disabled", false);

    /// <summary>How long a node trusts what it read about a credential, should another node sharing the database revoke it.</summary>
    private static readonly TimeSpan OriginCacheAge = TimeSpan.FromSeconds(2);

    /// <summary>What each credential origin named by a registry or V1 token stands for now, with when it ends.</summary>
    private readonly GenerationCache<CredentialOrigin, (Principal? Principal, DateTimeOffset? Expiry)> _origins = new(store, 10_000, time, OriginCacheAge);

    private readonly Lazy<string> _nobodyHash = new(() => hasher.HashPassword(Nobody, Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));

    private long _generation;

    /// <summary>Forgets every remembered login, after a change to users, groups or passwords.</summary>
    public void Invalidate() => Interlocked.Increment(ref _generation);

    /// <summary>Verifies a user's password (or API key or access token); <paramref name="address"/> feeds the throttle and the audit line.</summary>
    public async Task<(LoginOutcome Outcome, Principal? Principal)> LoginAsync(string user, string password, string? address, CancellationToken cancellationToken)
    {
        var key = $"login:{Interlocked.Read(ref _generation)}:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(user + "\0" + password)));
        if (cache.TryGetValue(key, out Principal? cached) && cached is not null)
        {
            return (cached == DisabledMarker ? LoginOutcome.Disabled : LoginOutcome.Ok, cached == DisabledMarker ? null : cached);
        }

        // An API key or an access token works as the password too (rest-api §1.5).
        if (ApiKeys.LooksLikeKey(password) || AccessTokens.LooksLikeToken(password))
        {
            await using var secrets = await store.OpenAsync(cancellationToken);
            var bySecret = ApiKeys.LooksLikeKey(password)
                ? await FromApiKeyAsync(secrets, password, cancellationToken)
                : await FromAccessTokenAsync(secrets, password, cancellationToken);
            // Not cached: the lookup is one hash and one query, and a revocation must bite at once.
            if (bySecret is not null && string.Equals(bySecret.UserName, user, StringComparison.OrdinalIgnoreCase))
            {
                return (LoginOutcome.Ok, bySecret);
            }
        }

        // Throttled first, then verified on the gate's few threads: hashing never takes every core
        // nor blocks the thread pool. No connection is held while waiting.
        var priority = await throttle.WaitForTurnAsync(user, address, cancellationToken);
        UserRecord? record = null;
        if (priority is not null)
        {
            await using var lookup = await store.OpenAsync(cancellationToken);
            record = await lookup.Users.GetAsync(user, cancellationToken);
        }

        var correct = priority is { } turn ? await gate.RunAsync(turn, () => Verify(record, password), cancellationToken) : null;
        if (correct is null)
        {
            Log.LoginThrottled(logger, user, address);
            return (LoginOutcome.Throttled, null);
        }

        if (correct is false || record is null)
        {
            Log.LoginFailed(logger, user, address);
            return (LoginOutcome.Invalid, null);
        }

        if (record.Disabled)
        {
            // Remembered like a success, so a disabled account that keeps trying costs no more hashing.
            cache.Set(key, DisabledMarker, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = CacheFor, Size = 1 });
            Log.LoginFailed(logger, user, address);
            return (LoginOutcome.Disabled, null);
        }

        Log.LoginSucceeded(logger, record.Name, address);
        throttle.Succeeded(record.Name, address);

        await using var session = await store.OpenAsync(cancellationToken);
        var principal = await PrincipalOfAsync(session, record, new CredentialOrigin(OriginKind.Password, record.Id, record.CredentialGeneration, null), cancellationToken);
        cache.Set(key, principal, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = CacheFor, Size = 1 });
        return (LoginOutcome.Ok, principal);
    }

    /// <summary>
    /// Whether <paramref name="password"/> is the user's. No user, or one without an internal
    /// password, costs the same work and is false, so response times do not reveal which names exist.
    /// </summary>
    private bool Verify(UserRecord? record, string password)
    {
        if (record is null || record.InternalPasswordDisabled)
        {
            hasher.VerifyHashedPassword(Nobody, _nobodyHash.Value, password);
            return false;
        }

        return hasher.VerifyHashedPassword(record, record.PasswordHash, password) != PasswordVerificationResult.Failed;
    }

    /// <summary>The owner of an API key (X-JFrog-Art-Api); null when unknown or the owner is disabled.</summary>
    public async Task<Principal?> ApiKeyAsync(string apiKey, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await FromApiKeyAsync(session, apiKey, cancellationToken);
    }

    /// <summary>The principal of a live access token (Bearer); null when unknown, expired or revoked.</summary>
    public async Task<Principal?> AccessTokenAsync(string token, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        return await FromAccessTokenAsync(session, token, cancellationToken);
    }

    private static async Task<Principal?> FromApiKeyAsync(IMetadataSession session, string apiKey, CancellationToken cancellationToken)
    {
        var record = await session.Credentials.ApiKeyByHashAsync(Secrets.Sha256(apiKey), cancellationToken);
        var owner = record is null ? null : await session.Users.GetAsync(record.UserName, cancellationToken);
        return owner is { Disabled: false }
            ? await PrincipalOfAsync(session, owner, new CredentialOrigin(OriginKind.ApiKey, owner.Id, owner.CredentialGeneration, ApiKeys.Fingerprint(record!.KeySha256)), cancellationToken)
            : null;
    }

    /// <summary>The principal of a live access token, by its secret; null when unknown or no longer standing.</summary>
    private async Task<Principal?> FromAccessTokenAsync(IMetadataSession session, string token, CancellationToken cancellationToken) =>
        await session.Credentials.TokenByHashAsync(Secrets.Sha256(token), cancellationToken) is { } record
            ? (await TokenPrincipalAsync(session, record, cancellationToken)).Principal
            : null;

    /// <summary>
    /// What an access token stands for now, and when it ends (the earliest end up its chain): the one
    /// path for the token used directly and for the registry and V1 tokens minted with it, so they
    /// hold exactly the same. Null when it, or a token up its chain (<see cref="TokenChains"/>), was
    /// revoked or has expired, or when its subject user was deleted or is disabled.
    /// The subject is the user of the token's <see cref="AccessTokenRecord.SubjectId"/>; the token
    /// holds the listed groups the user is still in (all its groups, and its admin flag, with
    /// <c>member-of-groups:*</c>). A token whose subject was no user when it was issued is transient,
    /// whatever user of that name exists now: it holds its listed groups only, and no grant to a user
    /// of its name (<see cref="Principal.Transient"/>).
    /// </summary>
    private async Task<(Principal? Principal, DateTimeOffset? Expiry)> TokenPrincipalAsync(IMetadataSession session, AccessTokenRecord record, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (record.Revoked || record.Expiry <= now)
        {
            return (null, null);
        }

        UserRecord? subject = null;
        if (record.SubjectId is not null)
        {
            subject = await session.Users.GetByIdAsync(record.SubjectId, cancellationToken);
            if (subject is null || subject.Disabled)
            {
                return (null, null);
            }
        }

        var expiry = record.Expiry;
        if (record.ParentId is not null)
        {
            var (stands, end) = await TokenChains.CheckAsync(session, record.ParentId, record.SubjectId, now, cancellationToken);
            if (!stands)
            {
                return (null, null);
            }

            expiry = TokenChains.Earlier(expiry, end);
        }

        // A token never holds more than its subject does now: listed groups the subject has left no longer count.
        var current = subject is null ? null : await session.Groups.GroupsOfAsync(subject.Name, cancellationToken);
        var groups = record.Groups is null ? current ?? [] : current is null ? record.Groups : [.. record.Groups.Where(g => current.Contains(g, StringComparer.OrdinalIgnoreCase))];
        var admin = subject?.Admin == true && record.Groups is null;
        foreach (var group in groups)
        {
            admin |= (await session.Groups.GetAsync(group, cancellationToken))?.AdminPrivileges == true;
        }

        var origin = new CredentialOrigin(OriginKind.AccessToken, subject?.Id, subject?.CredentialGeneration ?? 0, record.Id, expiry);
        return (new Principal(subject?.Name ?? record.Subject, admin, groups, ViaToken: true, origin) { Transient = subject is null }, expiry);
    }

    /// <summary>A user's principal: its groups, and admin by its own flag or an admin group's.</summary>
    private static async Task<Principal> PrincipalOfAsync(IMetadataSession session, UserRecord record, CredentialOrigin origin, CancellationToken cancellationToken)
    {
        var groups = await session.Groups.GroupsOfAsync(record.Name, cancellationToken);
        var admin = record.Admin;
        foreach (var group in groups)
        {
            admin |= (await session.Groups.GetAsync(group, cancellationToken))?.AdminPrivileges == true;
        }

        return new Principal(record.Name, admin, groups, Origin: origin);
    }

    /// <summary>
    /// The principal a registry or V1 token stands for now: null unless the user of the token's
    /// origin still exists under that id, is enabled, has the same credential generation, and the
    /// minting credential still stands (the same API key; the access token, bound to the same
    /// subject, standing as <see cref="TokenPrincipalAsync"/> decides, chain included). Rights are
    /// the current ones, exactly what the access token itself holds now. Cached
    /// until this node's next write and at most <see cref="OriginCacheAge"/> (writes of other nodes
    /// sharing the database), so registry requests rarely cost a query; expiry is checked every time.
    /// </summary>
    public async Task<Principal?> FromOriginAsync(CredentialOrigin origin, CancellationToken cancellationToken)
    {
        var (principal, expiry) = await _origins.GetOrReadAsync(origin with { Expiry = null }, ReadOriginAsync, cancellationToken);
        return expiry is { } end && end <= time.GetUtcNow() ? null : principal;
    }

    private async Task<(Principal?, DateTimeOffset?)> ReadOriginAsync(CredentialOrigin origin, CancellationToken cancellationToken)
    {
        await using var session = await store.OpenAsync(cancellationToken);
        UserRecord? user = null;
        if (origin.UserId is not null)
        {
            user = await session.Users.GetByIdAsync(origin.UserId, cancellationToken);
            if (user is null || user.Disabled || user.CredentialGeneration != origin.Generation)
            {
                return (null, null);
            }
        }

        switch (origin.Kind)
        {
            case OriginKind.Password when user is { InternalPasswordDisabled: false }:
                return (await PrincipalOfAsync(session, user, origin, cancellationToken), null);
            case OriginKind.ApiKey when user is not null:
                var key = await session.Credentials.ApiKeyOfAsync(user.Name, cancellationToken);
                return key is not null && ApiKeys.Fingerprint(key.KeySha256) == origin.CredentialId
                    ? (await PrincipalOfAsync(session, user, origin, cancellationToken), null)
                    : (null, null);
            case OriginKind.AccessToken when origin.CredentialId is not null:
                // Exactly what the access token holds now (the same path as its direct use), while it is bound to the same subject.
                var token = await session.Credentials.TokenByIdAsync(origin.CredentialId, cancellationToken);
                return token is null || token.SubjectId != origin.UserId
                    ? (null, null)
                    : await TokenPrincipalAsync(session, token, cancellationToken);
            default:
                return (null, null);
        }
    }
}
