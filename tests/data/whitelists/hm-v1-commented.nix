{...}: {
  home.persistence."/persist/home/alice" = {
    directories = [
      "dotfiles"
      "Downloads"
      ".ssh"
      ".config/BraveSoftware/Brave-Browser"
      # {
      #   directory = ".local/share/Steam";
      #   method = "symlink";
      # }
    ];
    files = [
      # ".screenrc"
    ];
    allowOther = true;
  };
}
