# darlings for Nix: `pkgs.callPackage ./package.nix { }` (the flake does this).
{
  lib,
  rustPlatform,
  installShellFiles,
  stdenv,
}:

let
  cargoToml = lib.importTOML ./Cargo.toml;
in
rustPlatform.buildRustPackage {
  pname = cargoToml.package.name;
  inherit (cargoToml.package) version;

  # Only what the build reads (the unit tests read README.md to check its
  # key table), so editing the benchmarks or the docs does not rebuild it.
  # sourceByRegex rather than lib.fileset: it works with any Nix version.
  src = lib.sources.sourceByRegex ./. [
    "^(Cargo\\.toml|Cargo\\.lock|README\\.md)$"
    "^(src|assets)(/.*)?$"
  ];

  cargoLock.lockFile = ./Cargo.lock;

  nativeBuildInputs = [ installShellFiles ];

  # The unit tests run in the build sandbox; the integration tests need loop
  # devices, mount namespaces and root, which the sandbox does not give, and
  # run in the project's CI instead (.ci/run).
  cargoTestFlags = [ "--lib" ];

  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    installShellCompletion --cmd darlings \
      --bash <($out/bin/darlings completions bash) \
      --zsh <($out/bin/darlings completions zsh) \
      --fish <($out/bin/darlings completions fish)
    # darlings.1 and a page per command (darlings-migrate.1, ...), which
    # darlings.1 lists under SUBCOMMANDS.
    mkdir man
    $out/bin/darlings man --dir man
    installManPage man/*.1
  '';

  meta = {
    inherit (cargoToml.package) description;
    longDescription = ''
      For NixOS users who wipe / at every boot (impermanence, preservation):
      darlings scans a root, compares it with a blank snapshot or a previous
      scan, classifies every path as persisted, Nix-managed or stray, and lets
      you review the stray state and write the persistence whitelist.
    '';
    license = with lib.licenses; [
      mit
      asl20
    ];
    mainProgram = "darlings";
    platforms = lib.platforms.linux;
  };
}
