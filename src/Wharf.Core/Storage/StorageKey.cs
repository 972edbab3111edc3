namespace Wharf.Core.Storage;

/// <summary>
/// Validation of byte-store keys. Every driver calls it first, so no key (and so no request) can
/// address anything outside the store's root.
/// </summary>
internal static class StorageKey
{
    public static void Validate(string key)
    {
        if (!IsValid(key))
        {
            throw new ArgumentException($"Invalid storage key '{key}'.", nameof(key));
        }
    }

    public static bool IsValid(string key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 512 || key[0] == '/' || key[^1] == '/')
        {
            return false;
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
            {
                return false;
            }

            foreach (var c in segment)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
