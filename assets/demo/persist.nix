# Written by darlings; safe to edit. Import it from your configuration.
{
  environment.persistence."/persist" = {
    directories = [ "/var/log" ];
    files = [ "/etc/machine-id" ];
  };
}
