using System.Text;

namespace Wharf.Core.WebServer;

/// <summary>
/// A small writer of web-server configuration text: lines indented four spaces per open block,
/// <c>\n</c> line ends, blank lines without indentation, so that the same input always gives the
/// same bytes.
/// </summary>
internal sealed class ConfigText
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public ConfigText Line(string line = "")
    {
        if (line.Length > 0)
        {
            _text.Append(' ', 4 * _depth).Append(line);
        }

        _text.Append('\n');
        return this;
    }

    /// <summary>A comment line for both web servers' syntax.</summary>
    public ConfigText Comment(string comment) => Line("# " + comment);

    /// <summary>Writes <paramref name="line"/> and indents what follows until <see cref="Close"/>.</summary>
    public ConfigText Open(string line)
    {
        Line(line);
        _depth++;
        return this;
    }

    public ConfigText Close(string line)
    {
        _depth--;
        return Line(line);
    }

    public override string ToString() => _text.ToString();
}
