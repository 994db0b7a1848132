# Sample for the pre-rewrite Home Manager module of nix-community/impermanence ("v1"; today the
# home-manager-v1 branch), evaluated at c64bed1 (2025-01-12) and 5f42ef6 (2025-02-25, = branch
# home-manager-v1 4b3e914 for home-manager.nix). In v1 the attribute name is the FULL per-user
# storage path, directories were bindfs (FUSE) mounts unless method = "symlink", files were symlinks.
# The module was imported by hand into each Home Manager user (the harness does this).
{
  users.users.alice = { isNormalUser = true; home = "/home/alice"; group = "users"; };
  users.users.bob = { isNormalUser = true; home = "/srv/bob"; group = "bob"; };
  programs.fuse.userAllowOther = true;

  home-manager.users.alice = {
    home.persistence."/persistent/home/alice" = {
      allowOther = true;
      directories = [
        "Documents"
        "Downloads"
        ".ssh"
        ".local/share/keyrings"
        { directory = ".local/share/Steam"; method = "symlink"; }
        { directory = ".mozilla"; method = "bindfs"; }
      ];
      files = [
        ".bash_history"
        ".screenrc"
      ];
    };
    # GNU Stow-style dotfiles repo: the first path component is dropped when linking.
    home.persistence."/persistent/dotfiles" = {
      removePrefixDirectory = true;
      allowOther = true;
      directories = [ "nvim/.config/nvim" ];
      files = [ "git/.gitconfig" "zsh/.zshrc" ];
    };
  };

  home-manager.users.bob = {
    # allowOther left unset: the module warns and assumes false.
    home.persistence."/persistent/srv/bob" = {
      directories = [ "projects" ".gnupg" ];
      files = [ ".zsh_history" ];
    };
  };
}
