using System.Globalization;

namespace Wharf.Server.Ui;

/// <summary>How the UI writes sizes, times and links.</summary>
internal static class UiFormat
{
    private static readonly string[] Units = ["B", "KB", "MB", "GB", "TB", "PB"];

    /// <summary>Bytes in human units (1024-based, as Artifactory shows them): 512 B, 1.5 KB, 3.2 GB.</summary>
    public static string Size(long bytes)
    {
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? bytes.ToString(CultureInfo.InvariantCulture) + " B"
            : value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    /// <summary>A time in UTC, to the second; the page's &lt;time&gt; element carries the exact instant.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>A path with each segment URL-escaped (slashes kept), for links into the tree and downloads.</summary>
    public static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    public static string TreeLink(string repoKey, string path) =>
        UiSetup.Base + "/repos/tree/General/" + Uri.EscapeDataString(repoKey) + (path.Length == 0 ? "" : "/" + EscapePath(path));
}
