{
  description = "darlings: find what on your NixOS root would be lost at the next wipe, and persist it";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        darlings = pkgs.callPackage ./package.nix { };
        default = darlings;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = nixpkgs.lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };
      });

      overlays.default = final: _prev: {
        darlings = final.callPackage ./package.nix { };
      };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.default ];
          # What the tests use for real: Nix for whitelist checks, btrfs and
          # ACL tools for the migration tests, strace for the hardening tests.
          packages = with pkgs; [
            clippy
            rustfmt
            nix
            btrfs-progs
            acl
            attr
            libcap
            strace
            tmux
          ];
        };
      });
    };
}
