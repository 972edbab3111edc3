using System.Text.Json;
using Wharf.Core.Docker.V1;
using Wharf.Core.Metadata;
using Wharf.Core.Naming;
using Wharf.Server.Auth;
using Wharf.Server.Hosting;
using Wharf.Server.Http;

namespace Wharf.Server.Api.V1;

/// <summary>
/// The index and tag routes of one repository name (docker-v1-protocol §6.3, §6.5), served for the
/// operation <see cref="V1RepositoryOperations"/> found and <see cref="V1Gate"/> authorized; each
/// checks the exact paths it reads or writes.
/// </summary>
internal static class V1RepositoryEndpoints
{
    /// <summary>JSON bodies other than image JSON (image lists, tag ids) are capped here.</summary>
    private const int MaxIndexBodyBytes = 4 << 20;

    /// <summary>PUT <c>repositories/&lt;name&gt;/</c>, push start (§6.3.1): 200 <c>""</c> with a write token and the Host as endpoint.</summary>
    public static async Task<IResult> AnnounceAsync(V1Call call, V1Repositories repositories, V1Tokens tokens, CancellationToken cancellationToken)
    {
        if (await call.RequireAsync(V1Layout.Index(call.Name), AccessActions.Deploy) is { } refused)
        {
            return refused;
        }

        var (read, body) = await JsonBody.ReadAsync(call.Context.Request, MaxIndexBodyBytes, cancellationToken);
        if (read != JsonBodyOutcome.Ok)
        {
            return call.Error(V1Errors.ForBody(read, V1Errors.ErrorDecodingJson));
        }

        var ids = ParseImageList(body, out var error);
        if (ids is null)
        {
            return call.Error(error!);
        }

        if (await repositories.AnnounceAsync(call.Key, call.Name, ids, call.Principal.DisplayName, cancellationToken) is not V1Outcome.Ok and var blocked)
        {
            return call.Fail(blocked);
        }

        return V1Response.Json(200, "",
        [
            new("X-Docker-Token", tokens.Issue(call.Principal.UserName ?? "", call.Key, call.Name, V1Access.Write, call.Principal.Origin)),
            new("X-Docker-Endpoints", PublicUrls.DockerEndpoint(call.Context)),
        ]);
    }

    /// <summary>PUT <c>repositories/&lt;name&gt;/images</c>, push end (§6.3.2): exactly 204; the body (always [] from docker) is ignored.</summary>
    public static async Task<IResult> PushEndAsync(V1Call call, V1Repositories repositories, CancellationToken cancellationToken) =>
        await call.RequireAsync(V1Layout.Index(call.Name), AccessActions.Deploy)
            ?? (await repositories.GetIndexAsync(call.Key, call.Name, cancellationToken) is null
                ? call.Error(V1Errors.RepositoryNotFound)
                : V1Response.NoContent());

    /// <summary>DELETE <c>repositories/&lt;name&gt;/images</c> (§6.3.4): 204, and nothing is deleted (tags and repositories have their own routes).</summary>
    public static async Task<IResult> DeleteIndexAsync(V1Call call) =>
        await call.RequireAsync(V1Layout.Index(call.Name), AccessActions.Delete) ?? V1Response.NoContent();

    /// <summary>GET <c>repositories/&lt;name&gt;/images</c>, pull start (§6.3.3): the id list without tags, a read token and the endpoint.</summary>
    public static async Task<IResult> PullStartAsync(V1Call call, V1Repositories repositories, V1Tokens tokens, CancellationToken cancellationToken)
    {
        var ids = await call.Items(V1Layout.Index(call.Name), AccessActions.Read)
            ? await repositories.GetIndexAsync(call.Key, call.Name, cancellationToken)
            : null;
        if (ids is null)
        {
            return call.Error(V1Errors.ImagesNotFound);
        }

        var headers = new List<KeyValuePair<string, string>>();
        var context = call.Context;
        if (string.Equals(context.Request.Headers["X-Docker-Token"].ToString(), "true", StringComparison.OrdinalIgnoreCase))
        {
            headers.Add(new("X-Docker-Token", tokens.Issue(call.Principal.UserName ?? "", call.Key, call.Name, V1Access.Read, call.Principal.Origin)));
        }

        headers.Add(new("X-Docker-Endpoints", PublicUrls.DockerEndpoint(context)));
        return V1Response.Json(200, ids.Select(id => new V1ImageListEntry(id)).ToArray(), headers);
    }

    /// <summary>GET <c>repositories/&lt;name&gt;/tags</c> (§6.5.1): the readable tags and their image ids.</summary>
    public static async Task<IResult> TagListAsync(V1Call call, V1Tags tags, CancellationToken cancellationToken)
    {
        var readable = await tags.ListTagsAsync(call.Key, call.Name, call.Items, cancellationToken);
        return readable is null
            ? call.Error(V1Errors.RepositoryNotFound)
            : V1Response.Json(200, readable.ToDictionary(t => t.Tag, t => t.ImageId, StringComparer.Ordinal));
    }

    /// <summary>GET <c>repositories/&lt;name&gt;/tags/&lt;tag&gt;</c> (§6.5.2), or its <c>/json</c> metadata (§6.5.5).</summary>
    public static async Task<IResult> GetTagAsync(V1Call call, V1Tags tags, bool metadataOnly, CancellationToken cancellationToken)
    {
        var id = await tags.GetTagAsync(call.Key, call.Name, call.Tag, call.Items, cancellationToken);
        return id is null ? call.Error(V1Errors.TagNotFound)
            : metadataOnly ? V1Response.Json(200, V1TagMetadata.Unknown)
            : V1Response.Json(200, id);
    }

    /// <summary>PUT <c>repositories/&lt;name&gt;/tags/&lt;tag&gt;</c> with the image id as JSON string (§6.5.3).</summary>
    public static async Task<IResult> PutTagAsync(V1Call call, V1Tags tags, ILogger logger, CancellationToken cancellationToken)
    {
        if (!TagName.IsValid(call.Tag))
        {
            return call.Error(V1Errors.InvalidTag);
        }

        var (read, body) = await JsonBody.ReadAsync(call.Context.Request, MaxIndexBodyBytes, cancellationToken);
        if (read != JsonBodyOutcome.Ok)
        {
            return call.Error(V1Errors.ForBody(read, V1Errors.InvalidData));
        }

        string? imageId;
        try
        {
            imageId = JsonSerializer.Deserialize<string>(body);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            imageId = null;
        }

        if (string.IsNullOrEmpty(imageId))
        {
            return call.Error(V1Errors.InvalidData);
        }

        var user = call.Principal.DisplayName;
        var outcome = await tags.PutTagAsync(call.Key, call.Name, call.Tag, imageId, user, call.Items, cancellationToken, call.Repository.MaxUniqueTags);
        if (outcome != V1Outcome.Ok)
        {
            return call.Fail(outcome);
        }

        Log.V1TagSet(logger, call.Key, call.Name.FullName, call.Tag, imageId, user);
        return V1Response.True;
    }

    /// <summary>DELETE <c>repositories/&lt;name&gt;/tags/&lt;tag&gt;</c> (§6.5.4).</summary>
    public static async Task<IResult> DeleteTagAsync(V1Call call, V1Tags tags, ILogger logger, CancellationToken cancellationToken)
    {
        switch (await tags.DeleteTagAsync(call.Key, call.Name, call.Tag, call.Items, cancellationToken))
        {
            case V1Outcome.Denied:
                return call.Refusal();
            case not V1Outcome.Ok:
                return call.Error(V1Errors.TagNotFoundNamed(call.Tag));
        }

        Log.V1Deleted(logger, "tag " + call.Tag, call.Key, call.Name.FullName, call.Principal.DisplayName);
        return V1Response.True;
    }

    /// <summary>DELETE <c>repositories/&lt;name&gt;/</c> or <c>…/tags</c> (§6.5.6): the tags and the index; images stay.</summary>
    public static async Task<IResult> DeleteRepositoryAsync(V1Call call, V1Repositories repositories, ILogger logger, CancellationToken cancellationToken)
    {
        var outcome = await repositories.DeleteRepositoryAsync(call.Key, call.Name, call.Items, cancellationToken);
        if (outcome != V1Outcome.Ok)
        {
            return call.Fail(outcome);
        }

        Log.V1Deleted(logger, "repository", call.Key, call.Name.FullName, call.Principal.DisplayName);
        return V1Response.True;
    }

    /// <summary>GET <c>repositories/&lt;name&gt;/json</c>: the repository's metadata (§6.5.5's default) while it has readable tags.</summary>
    public static async Task<IResult> RepositoryJsonAsync(V1Call call, V1Tags tags, CancellationToken cancellationToken) =>
        await tags.ListTagsAsync(call.Key, call.Name, call.Items, cancellationToken) is null
            ? call.Error(V1Errors.RepositoryNotFound)
            : V1Response.Json(200, V1TagMetadata.Unknown);

    /// <summary>The ids of a push start's image list (<c>[{"id":…},…]</c>); <paramref name="body"/> has passed <see cref="JsonBody"/>.</summary>
    private static List<string>? ParseImageList(byte[] body, out V1Error? error)
    {
        error = null;
        using var document = JsonDocument.Parse(body);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            error = V1Errors.InvalidData;
            return null;
        }

        var ids = new List<string>();
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("id", out var id)
                || id.ValueKind != JsonValueKind.String || id.GetString() is not { } value || !ImageId.IsValid(value))
            {
                error = V1Errors.InvalidData;
                return null;
            }

            ids.Add(value);
        }

        return ids;
    }
}

internal sealed record V1ImageListEntry(string Id);

/// <summary>Tag metadata of §6.5.5 (MAY); Wharf records none yet and serves the documented default.</summary>
internal sealed record V1TagMetadata(
    long? LastUpdate,
    string? DockerVersion,
    string? DockerGoVersion,
    string Arch,
    string Os,
    string? Kernel)
{
    public static readonly V1TagMetadata Unknown = new(null, null, null, "amd64", "linux", null);
}
