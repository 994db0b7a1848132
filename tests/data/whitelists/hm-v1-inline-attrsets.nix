_: {
  home.persistence."/persist/home/alice" = {
    allowOther = true;
    directories = [
      "Documents"
      "Music"
      { directory = ".local/share/Steam"; method = "symlink"; }
      { directory = ".cache/lutris"; method = "symlink"; }
    ];
    files = [ ".bash_history" ".zsh_history" ];
  };
}
