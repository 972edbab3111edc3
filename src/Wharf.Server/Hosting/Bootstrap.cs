using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Wharf.Core.Metadata;
using Wharf.Core.Security;
using Wharf.Server.Auth;

namespace Wharf.Server.Hosting;

/// <summary>
/// Runs before the listeners open: migrates the database and, on an empty one, creates the default
/// repositories (<c>docker-local</c> with the port of <see cref="DockerOptions.V1Port"/>) and the
/// <c>admin</c> user.
/// </summary>
internal sealed class Bootstrap(IMetadataStore store, Wharf.Core.Docker.RegistryIndexCheck index, IPasswordHasher<UserRecord> hasher, SigningKeys keys, IOptions<WharfOptions> options, ILogger<Bootstrap> logger)
{
    public static readonly RepositoryConfig[] DefaultRepositories =
    [
        new("docker-local", DockerApiVersion.V1, "Local Docker V1 repository"),
        new("docker-v2-local", DockerApiVersion.V2, "Local Docker V2 repository"),
    ];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Log.DataDir(logger, Path.GetFullPath(options.Value.DataDir));
        await store.MigrateAsync(cancellationToken);

        // A data directory written before the registry index existed: its trees are read into it once.
        if (await index.BackfillAsync(cancellationToken) is > 0 and var indexed)
        {
            Log.RegistryIndexBackfilled(logger, indexed);
        }

        await using var tx = await store.BeginAsync(cancellationToken);
        var v1Port = options.Value.Docker.V1Port;
        foreach (var repository in DefaultRepositories.Select(r => r.DockerApiVersion == DockerApiVersion.V1 && v1Port > 0 ? r with { RegistryPort = v1Port } : r))
        {
            if (await tx.Repositories.TryCreateAsync(repository, cancellationToken))
            {
                Log.RepositoryCreated(logger, repository.Key, repository.DockerApiVersion.ToString());
            }
        }

        // Only on an empty database: an operator who deleted admin later does not get it back.
        if (await tx.Users.CountAsync(cancellationToken) == 0)
        {
            var password = options.Value.Admin.Password;
            if (password is null)
            {
                password = RandomNumberGenerator.GetString("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 20);
                // Printed once, to the console only (never to the log): the operator's one chance to read it.
                Console.WriteLine($"Wharf: generated password for user 'admin': {password}");
            }

            var admin = new UserRecord("admin", "", Admin: true, Disabled: false);
            await tx.Users.TryCreateAsync(admin with { PasswordHash = hasher.HashPassword(admin, password) }, cancellationToken);
            Log.AdminCreated(logger);
        }

        await SeedSecurityAsync(tx, cancellationToken);
        keys.Load(await KeyAsync(tx, SigningKeys.V1Setting, cancellationToken), await KeyAsync(tx, SigningKeys.DockerSetting, cancellationToken));
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>A 256-bit signing key from the settings, created on first use.</summary>
    private static async Task<byte[]> KeyAsync(IMetadataTransaction tx, string name, CancellationToken cancellationToken) =>
        Convert.FromBase64String(await tx.Settings.GetOrAddAsync(name, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), cancellationToken));

    /// <summary>
    /// The built-ins of rest-api §6 on a new install: the user <c>anonymous</c> (cannot log in),
    /// the auto-join group <c>readers</c>, and the targets <c>Anything</c> and <c>Any Remote</c>.
    /// Anonymous access itself stays off until an admin turns it on.
    /// </summary>
    private async Task SeedSecurityAsync(IMetadataTransaction tx, CancellationToken cancellationToken)
    {
        if (await tx.Settings.GetAsync("security.seeded", cancellationToken) is not null)
        {
            return;
        }

        var anonymous = new UserRecord(Principal.AnonymousName, "", Admin: false, Disabled: false, InternalPasswordDisabled: true);
        await tx.Users.TryCreateAsync(anonymous with { PasswordHash = hasher.HashPassword(anonymous, Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))) }, cancellationToken);
        await tx.Groups.UpsertAsync(new GroupRecord("readers", "Every user, for read access", AutoJoin: true, AdminPrivileges: false), cancellationToken);
        var read = new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase) { [Principal.AnonymousName] = AccessActions.Read };
        await tx.Permissions.UpsertAsync(new PermissionTarget("Anything", "**", "", [PermissionTarget.AnyRepository], read,
            new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase) { ["readers"] = AccessActions.Read }), cancellationToken);
        await tx.Permissions.UpsertAsync(new PermissionTarget("Any Remote", "**", "", [PermissionTarget.AnyRemote],
            new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase) { [Principal.AnonymousName] = AccessActions.Read | AccessActions.Deploy },
            new Dictionary<string, AccessActions>(StringComparer.OrdinalIgnoreCase)), cancellationToken);
        await tx.Settings.SetAsync("security.seeded", "true", cancellationToken);
    }
}
