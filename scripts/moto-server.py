"""Starts moto's server with Route 53's CREATE made to behave as on AWS.

moto 5 checks a CREATE against its change journal and then against *every* record set
sorting after the name, so re-creating a record set that was deleted fails whenever any
name sorts after it; and a CREATE of an existing record set with other values silently
adds a second one. AWS rejects a CREATE exactly when a record set of that name and type
exists (after the batch's earlier changes). ec2ip claims names by CREATE, so its tests
need the AWS behaviour. Usage: python3 scripts/moto-server.py [--exit-with-stdin] -H 127.0.0.1 -p PORT

--exit-with-stdin: stop (the server and its whole process group) as soon as stdin reaches its
end, i.e. when the process that holds the other end of the pipe is gone, however it ended
(SIGKILL included). A signal to the starter's group cannot reach a server started in a group
of its own; the pipe's end always comes.
"""
import os
import signal
import sys
import threading

try:
    from moto.route53 import models
    from moto.route53.exceptions import ResourceRecordAlreadyExists
    from moto.server import main
except ImportError as error:  # pragma: no cover - depends on the machine
    sys.stderr.write(f"moto is not installed for {sys.executable} ({error}): pip install 'moto[server]'\n")
    sys.exit(3)


def _key(name, rtype, set_identifier):
    return (name.lower().rstrip("."), rtype, set_identifier)


# The journal check is the source of the false "already exists"; the check below replaces it.
models.ChangeList.__contains__ = lambda self, value: False

_original = models.Route53Backend.change_resource_record_sets


def change_resource_record_sets(self, zoneid, change_list):
    zone = self.get_hosted_zone(zoneid)
    existing = {_key(r.name, r.type, r.set_identifier) for r in zone.rrsets}
    for change in change_list:
        rrset = change["ResourceRecordSet"]
        key = _key(rrset["Name"], rrset["Type"], rrset.get("SetIdentifier"))
        if change["Action"] == "CREATE":
            if key in existing:
                raise ResourceRecordAlreadyExists(name=rrset["Name"].rstrip(".") + ".", _type=rrset["Type"])
            existing.add(key)
        elif change["Action"] == "DELETE":
            existing.discard(key)
        else:
            existing.add(key)
    return _original(self, zoneid, change_list)


models.Route53Backend.change_resource_record_sets = change_resource_record_sets

def _exit_with_stdin():
    """Reads stdin to its end, then ends this process and, if it leads one, its group."""
    while True:
        try:
            if not os.read(0, 65536):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    if os.getpgid(0) == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(0)


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--exit-with-stdin" in args:
        args.remove("--exit-with-stdin")
        sys.argv[1:] = args
        threading.Thread(target=_exit_with_stdin, name="exit-with-stdin", daemon=True).start()
    main(args)
