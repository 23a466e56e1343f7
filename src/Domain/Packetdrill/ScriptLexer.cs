using System.Globalization;
using System.Text;

namespace SimService.Domain.Packetdrill;

/// <summary>The kinds of token of the packetdrill language (lexer.l's, folded to what the parser needs).</summary>
internal enum TokenKind
{
    End,
    Integer,
    Float,
    Word,
    String,
    /// <summary>A backtick shell command, text without the backticks.</summary>
    Backquoted,
    /// <summary>An inline code block, text without <c>%{</c> and <c>}%</c>.</summary>
    Code,
    /// <summary>A <c>--name[=value]</c> line before the first event.</summary>
    Option,
    Ellipsis,
    Punct,
}

/// <summary>One token; numbers keep their text, so times can be read exactly.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, ScriptPosition At, bool StartsLine)
{
    public bool Is(string punct) => Kind == TokenKind.Punct && Text == punct;
    public bool IsWord(string word) => Kind == TokenKind.Word && Text == word;

    public override string ToString() => Kind switch
    {
        TokenKind.End => "end of script",
        TokenKind.String => $"\"{Text}\"",
        TokenKind.Backquoted => $"`{Text}`",
        TokenKind.Code => "%{ … }%",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Splits a script into tokens with their line and column: <c>//</c> and <c>/* */</c> comments
/// dropped, numbers (<c>.01</c>, <c>0.100</c>, <c>0x10</c>), words, strings, <c>...</c>, backtick
/// commands and <c>%{ }%</c> blocks kept whole. An unknown character becomes a one-character
/// punctuation token for the parser to refuse with its position.
/// </summary>
internal sealed class ScriptLexer(string text)
{
    int _pos;
    int _line = 1;
    int _col = 1;
    bool _lineStart = true;
    public List<ScriptDiagnostic> Errors { get; } = [];

    /// <param name="interruption">Checked every 4,096 tokens (<see cref="ScriptParser.Parse"/>).</param>
    public List<Token> Tokenize(CancellationToken interruption = default)
    {
        var tokens = new List<Token>();
        while (true)
        {
            if ((tokens.Count & 4095) == 4095) interruption.ThrowIfCancellationRequested();
            var t = Next();
            tokens.Add(t);
            if (t.Kind == TokenKind.End) return tokens;
        }
    }

    char Peek(int ahead = 0) => _pos + ahead < text.Length ? text[_pos + ahead] : '\0';

    void Advance(int n = 1)
    {
        for (int i = 0; i < n && _pos < text.Length; i++)
        {
            if (text[_pos] == '\n')
            {
                _line++;
                _col = 1;
                _lineStart = true;
            }
            else
            {
                _col++;
            }
            _pos++;
        }
    }

    Token Next()
    {
        SkipSpaceAndComments();
        var at = new ScriptPosition(_line, _col);
        bool startsLine = _lineStart;
        _lineStart = false;
        if (_pos >= text.Length) return new Token(TokenKind.End, "", at, startsLine);
        char c = Peek();
        if (c == '`') return Delimited(at, startsLine, "`", "`", TokenKind.Backquoted, "backtick command");
        if (c == '%' && Peek(1) == '{') return Delimited(at, startsLine, "%{", "}%", TokenKind.Code, "%{ code block");
        if (c == '"') return Str(at, startsLine);
        if (c == '.' && Peek(1) == '.' && Peek(2) == '.')
        {
            Advance(3);
            return new Token(TokenKind.Ellipsis, "...", at, startsLine);
        }
        if (c == '-' && Peek(1) == '-' && startsLine && char.IsLetter(Peek(2))) return OptionLine(at);
        if (char.IsDigit(c) || (c == '.' && char.IsDigit(Peek(1)))) return Number(at, startsLine);
        if (char.IsLetter(c) || c == '_') return WordToken(at, startsLine);
        Advance();
        return new Token(TokenKind.Punct, c.ToString(), at, startsLine);
    }

    void SkipSpaceAndComments()
    {
        while (_pos < text.Length)
        {
            char c = Peek();
            if (char.IsWhiteSpace(c)) Advance();
            else if (c == '/' && Peek(1) == '/')
                while (_pos < text.Length && Peek() != '\n') Advance();
            else if (c == '/' && Peek(1) == '*')
            {
                var at = new ScriptPosition(_line, _col);
                Advance(2);
                while (_pos < text.Length && !(Peek() == '*' && Peek(1) == '/')) Advance();
                if (_pos >= text.Length) Errors.Add(new ScriptDiagnostic(at, "unterminated /* comment"));
                Advance(2);
            }
            else return;
        }
    }

    Token Delimited(ScriptPosition at, bool startsLine, string open, string close, TokenKind kind, string what)
    {
        Advance(open.Length);
        int start = _pos;
        int end = text.IndexOf(close, _pos, StringComparison.Ordinal);
        if (end < 0)
        {
            Errors.Add(new ScriptDiagnostic(at, $"unterminated {what}"));
            Advance(text.Length - _pos);
            return new Token(kind, text[start..], at, startsLine);
        }
        Advance(end - _pos);
        Advance(close.Length);
        return new Token(kind, text[start..end], at, startsLine);
    }

    Token Str(ScriptPosition at, bool startsLine)
    {
        Advance();
        var sb = new StringBuilder();
        while (_pos < text.Length && Peek() != '"' && Peek() != '\n')
        {
            if (Peek() == '\\' && _pos + 1 < text.Length)
            {
                Advance();
                sb.Append(Peek() switch { 'n' => '\n', 't' => '\t', var other => other });
            }
            else
            {
                sb.Append(Peek());
            }
            Advance();
        }
        if (Peek() != '"') Errors.Add(new ScriptDiagnostic(at, "unterminated string"));
        else Advance();
        return new Token(TokenKind.String, sb.ToString(), at, startsLine);
    }

    Token OptionLine(ScriptPosition at)
    {
        int start = _pos;
        while (_pos < text.Length && !char.IsWhiteSpace(Peek())) Advance();
        return new Token(TokenKind.Option, text[start.._pos], at, true);
    }

    Token Number(ScriptPosition at, bool startsLine)
    {
        int start = _pos;
        if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X'))
        {
            Advance(2);
            while (Uri.IsHexDigit(Peek())) Advance();
            return new Token(TokenKind.Integer, text[start.._pos], at, startsLine);
        }
        while (char.IsDigit(Peek())) Advance();
        bool isFloat = false;
        // A '.' belongs to the number only when a digit follows and it does not start "...".
        if (Peek() == '.' && char.IsDigit(Peek(1)))
        {
            isFloat = true;
            Advance();
            while (char.IsDigit(Peek())) Advance();
        }
        return new Token(isFloat ? TokenKind.Float : TokenKind.Integer, text[start.._pos], at, startsLine);
    }

    Token WordToken(ScriptPosition at, bool startsLine)
    {
        int start = _pos;
        while (char.IsLetterOrDigit(Peek()) || Peek() == '_') Advance();
        return new Token(TokenKind.Word, text[start.._pos], at, startsLine);
    }

    /// <summary>Parses an integer token's text (decimal or 0x hex).</summary>
    public static bool TryInteger(string s, out long value) =>
        s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value)
            : long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
