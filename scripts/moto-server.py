"""Starts moto's server with Route 53's CREATE made to behave as on AWS.

moto 5 checks a CREATE against its change journal and then against *every* record set
sorting after the name, so re-creating a record set that was deleted fails whenever any
name sorts after it; and a CREATE of an existing record set with other values silently
adds a second one. AWS rejects a CREATE exactly when a record set of that name and type
exists (after the batch's earlier changes). ec2ip claims names by CREATE, so its tests
need the AWS behaviour. Usage: python3 scripts/moto-server.py -H 127.0.0.1 -p PORT
"""
import sys

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

if __name__ == "__main__":
    main(sys.argv[1:])
