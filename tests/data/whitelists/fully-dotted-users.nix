{ sysargs, ... }: {
  # Define a user account. Set a password with ‘passwd’.
  users.users.${sysargs.username} = {
    isNormalUser = true;
    extraGroups = [ "networkmanager" "wheel" ];
    hashedPasswordFile = "/persist/etc/users/alice";
  };

  environment.persistence."/persist".users.${sysargs.username}.directories = [
    "Code"
    ".ssh"
  ];
  environment.persistence."/persist".directories = [
    "/var/lib/nixos"
  ];
}
