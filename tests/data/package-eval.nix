# Evaluates package.nix over the real nixpkgs lib with a stub rustPlatform
# (tests/cli.rs): what `pkgs.callPackage ./package.nix { }` would build, minus the build.
{ libPath, pkgPath }:
let
  lib = import (libPath + "/lib");
  pkg = import pkgPath {
    inherit lib;
    rustPlatform.buildRustPackage = args: args // { name = "${args.pname}-${args.version}"; };
    installShellFiles = "installShellFiles";
    stdenv = { buildPlatform.canExecute = _: true; hostPlatform = { }; };
  };
  root = toString pkg.src.origSrc;
  kept = rel: type: pkg.src.filter "${root}/${rel}" type;
in
{
  inherit (pkg) name pname version cargoTestFlags postInstall;
  lockFile = toString pkg.cargoLock.lockFile;
  mainProgram = pkg.meta.mainProgram;
  licenses = map (l: l.spdxId) pkg.meta.license;
  kept = {
    manifest = kept "Cargo.toml" "regular";
    lock = kept "Cargo.lock" "regular";
    main = kept "src/main.rs" "regular";
    knowledge = kept "assets/knowledge.toml" "regular";
    tests = kept "tests" "directory";
    readme = kept "README.md" "regular";
    bench = kept "bench/run.sh" "regular";
    target = kept "target" "directory";
  };
}
