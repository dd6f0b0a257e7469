# Reads a rendered systemd ExecStart (a string with backslash-newline continuations, or a list of them) into its
# flags, so guards can assert what a daemon is really started with. Plain builtins, so tests evaluate it without
# nixpkgs.
rec {
  text = execStart: if builtins.isList execStart then builtins.concatStringsSep " " execStart else execStart;

  # Whitespace- and continuation-separated words.
  words =
    execStart:
    builtins.filter (word: builtins.isString word && word != "") (builtins.split "[[:space:]\\\\]+" (text execStart));

  # "--name=value" -> { name; value; }; "--name" -> { name; value = null; }; other words (the program) are skipped.
  flagOf =
    word:
    let
      withValue = builtins.match "--([^=]+)=(.*)" word;
      bare = builtins.match "--([^=]+)" word;
    in
    if withValue != null then
      {
        name = builtins.elemAt withValue 0;
        value = builtins.elemAt withValue 1;
      }
    else if bare != null then
      {
        name = builtins.head bare;
        value = null;
      }
    else
      null;

  # { <flag> = [ values in command-line order ]; }: a flag given twice keeps both values.
  flags =
    execStart:
    builtins.zipAttrsWith (_: values: values) (
      map (flag: { ${flag.name} = flag.value; }) (builtins.filter (flag: flag != null) (map flagOf (words execStart)))
    );

  # The values of one flag ([ ] when absent).
  values = execStart: name: (flags execStart).${name} or [ ];

  # A comma-separated flag value as a list ([ ] for "" or an absent flag; the last occurrence wins, as in Go's flag package).
  list =
    execStart: name:
    let
      given = values execStart name;
      last = if given == [ ] then "" else builtins.elemAt given (builtins.length given - 1);
    in
    if last == "" || last == null then [ ] else builtins.filter (part: builtins.isString part && part != "") (builtins.split "," last);
}
