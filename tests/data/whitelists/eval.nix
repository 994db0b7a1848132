# Evaluates a whitelist fixture (a NixOS, Home Manager or preservation
# module) without the module system and returns what it gives the three
# persistence options, as plain data:
#
#   nix-instantiate --eval --strict --json tests/data/whitelists/eval.nix --arg file ./FIXTURE.nix
#
# `lib` is a stub of the functions the fixtures use, with every condition
# true: `mkIf` keeps its content, `mkMerge` merges (lists are concatenated),
# priorities are dropped. `config` and the other module arguments are stubs
# of what the fixtures read.
{ file }:
let
  merge =
    a: b:
    if builtins.isAttrs a && builtins.isAttrs b then
      a
      // builtins.mapAttrs (n: v: if a ? ${n} then merge a.${n} v else v) b
    else if builtins.isList a && builtins.isList b then
      a ++ b
    else
      b;
  lib = {
    mkIf = cond: x: if cond then x else { };
    mkMerge = builtins.foldl' merge { };
    mkDefault = x: x;
    mkForce = x: x;
    mkBefore = x: x;
    mkAfter = x: x;
    mkOverride = _: x: x;
    mkOrder = _: x: x;
    optionals = cond: l: if cond then l else [ ];
    optional = cond: x: if cond then [ x ] else [ ];
    unique = builtins.foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];
    mkOption = x: x;
    mkEnableOption = _: { };
    types = { };
  };
  config = {
    my.impermanence = {
      enable = true;
      extraDirectories = [ "/var/lib/extra" ];
      extraFiles = [ "/etc/extra" ];
      path = "/persist";
    };
    networking.wireless.iwd.enable = true;
    boot.isContainer = false;
    services.printing.enable = true;
    services.postgresql.enable = true;
    services.roon-server = {
      user = "roon";
      group = "roon";
    };
    services.docker-registry.storagePath = "/var/lib/registry";
    programs.ccache.cacheDir = "/var/cache/ccache";
    system.devices.preservedState = "/state";
    home.homeDirectory = "/home/alice";
    home.username = "alice";
    username = "alice";
  };
  args = {
    inherit lib config;
    pkgs = {
      ncdu = "ncdu";
      steam = "steam";
    };
    osConfig = config;
    username = "alice";
    user = "alice";
    myvars = {
      username = "alice";
      userName = "alice";
    };
    vars.username = "alice";
    sysargs.username = "alice";
    persistPath = "/persist";
    impermanence = "/impermanence";
    inputs = { };
    self = { };
  };
  call = m: if builtins.isFunction m then m (builtins.intersectAttrs (builtins.functionArgs m) args) else m;
  # A module's definitions: under `config` in full form.
  defs = m: let r = call m; in r.config or r;
  persistence = c: {
    nixos = c.environment.persistence or { };
    preservation = c.preservation.preserveAt or { };
    home-manager = c.home.persistence or { };
  };
  top = call (import file);
  c = defs (import file);
  hm = builtins.mapAttrs (_: m: (defs m).home.persistence or { });
in
persistence c
// {
  home-manager-users = hm (c.home-manager.users or { });
  flake-home-modules = hm (top.flake.homeModules or { });
}
