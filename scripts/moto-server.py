"""Starts moto's server with Route 53's CREATE made to behave as on AWS, and SQS's message
move tasks (the dead-letter queue redrive, which moto 5.2.1 lacks) added.

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

AMIs: moto loads, into every account and region an EC2 call touches after each reset, its 44
default AMIs and about 1,100 region-specific ones (mostly ECS-optimized), and an unfiltered
DescribeImages returns all of them: about 1.2 s of the server's CPU per call, the largest
single cost of the test suite. ec2ip's tests and demo need one x86_64 AMI, so only the 44
default AMIs are loaded (set MOTO_AMIS_PATH to load a catalogue of your own instead).
"""
import os
import signal
import sys
import threading

try:
    from moto.route53 import models
    from moto.route53.exceptions import ResourceRecordAlreadyExists
    from moto.server import main
    from moto.ec2.models import amis as _amis
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

_load_resource = _amis.load_resource


def _default_amis_only(package, resource, *args, **kwargs):
    """moto's resource loader, with no region-specific AMI catalogues (see the docstring)."""
    if "latest_amis/" in resource or "optimized_amis/" in resource:
        return []
    return _load_resource(package, resource, *args, **kwargs)


_amis.load_resource = _default_amis_only

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



# moto creates a zone's SOA with its values as {"Value": ...} dicts, which it then wraps
# again, so ListResourceRecordSets shows "{'Value': '...'}" where AWS shows the SOA fields.
_record_set_init = models.RecordSet.__init__


def _record_set_init_flat(self, *args, **kwargs):
    _record_set_init(self, *args, **kwargs)
    self.records = [r["Value"] if isinstance(r, dict) and "Value" in r else r for r in self.records]


models.RecordSet.__init__ = _record_set_init_flat

# SQS StartMessageMoveTask / ListMessageMoveTasks, as AWS documents them: the task moves the
# source queue's messages to the destination (the queue given, or each message's original
# source) and removes each from the source once it is in the destination; nothing is lost.
# moto has no background worker, so the move happens at once and the task is COMPLETED.
import time
import uuid

from moto.sqs import responses as sqs_responses
from moto.sqs.exceptions import QueueDoesNotExist
from moto.core.responses import ActionResult

_move_tasks = {}


def _queue_by_arn(backend, arn):
    for queue in backend.queues.values():
        if queue.queue_arn == arn:
            return queue
    raise QueueDoesNotExist()


def start_message_move_task(self):
    backend = self.sqs_backend
    source_arn = self._get_param("SourceArn")
    source = _queue_by_arn(backend, source_arn)
    destination_arn = self._get_param("DestinationArn")
    if not destination_arn:
        origins = [q for q in backend.queues.values() if q.redrive_policy and q.redrive_policy.get("deadLetterTargetArn") == source_arn]
        if not origins:
            raise QueueDoesNotExist()
        destination_arn = origins[0].queue_arn
    destination = _queue_by_arn(backend, destination_arn)
    moved = 0
    for message in list(source.messages):
        backend.send_message(destination.name, message.body, message_attributes=message.message_attributes or None)
        with source._messages_lock:
            source._messages.remove(message)
        moved += 1
    handle = str(uuid.uuid4())
    _move_tasks.setdefault((self.current_account, self.region, source_arn), []).insert(0, {
        "TaskHandle": handle,
        "Status": "COMPLETED",
        "SourceArn": source_arn,
        "DestinationArn": destination_arn,
        "ApproximateNumberOfMessagesMoved": moved,
        "ApproximateNumberOfMessagesToMove": moved,
        "StartedTimestamp": int(time.time() * 1000),
    })
    return ActionResult({"TaskHandle": handle})


def list_message_move_tasks(self):
    source_arn = self._get_param("SourceArn")
    _queue_by_arn(self.sqs_backend, source_arn)
    limit = int(self._get_param("MaxResults") or 1)
    return ActionResult({"Results": _move_tasks.get((self.current_account, self.region, source_arn), [])[:limit]})


sqs_responses.SQSResponse.start_message_move_task = start_message_move_task
sqs_responses.SQSResponse.list_message_move_tasks = list_message_move_tasks

# CloudFormation's AWS::SQS::QueuePolicy, which moto 5.2.1 skips with a warning: it sets the
# Policy attribute of each queue in Queues (URLs), as AWS does, and removes it on delete.
import json

from moto.core.common_models import CloudFormationModel
from moto.sqs.models import sqs_backends


class QueuePolicy(CloudFormationModel):
    # moto files its models by the service in their module's name.
    __module__ = "moto.sqs.models"

    def __init__(self, name, queues, document):
        self.name = name
        self.queues = queues
        self.document = document

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_type():
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = sqs_backends[account_id][region_name]
        queues = [str(q).rstrip("/").split("/")[-1] for q in properties.get("Queues", [])]
        document = properties.get("PolicyDocument", {})
        for queue in queues:
            backend.set_queue_attributes(queue, {"Policy": json.dumps(document) if not isinstance(document, str) else document})
        return cls(resource_name, queues, document)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = sqs_backends[account_id][region_name]
        for q in cloudformation_json.get("Properties", {}).get("Queues", []):
            try:
                backend.set_queue_attributes(str(q).rstrip("/").split("/")[-1], {"Policy": ""})
            except Exception:  # the queue went first
                pass

# A rule's EventBusName given as `!Ref SpokeBus` (the hub's bus) reaches moto's put_rule as the
# EventBus object, not its name, and every later read of the stack fails; AWS takes the name.
from moto.events import models as events_models

_normalize_event_bus_arn = events_models.EventsBackend._normalize_event_bus_arn


def _normalize_event_bus(self, event_bus_arn):
    if event_bus_arn is not None and not isinstance(event_bus_arn, str) and hasattr(event_bus_arn, "name"):
        return event_bus_arn.name
    return _normalize_event_bus_arn(self, event_bus_arn)


events_models.EventsBackend._normalize_event_bus_arn = _normalize_event_bus
# CloudFormation's Ref of an AWS::Events::EventBus is its name; moto's model has no physical id.
events_models.EventBus.physical_resource_id = property(lambda self: self.name)


# CloudFormation's AWS::Events::EventBusPolicy, which moto 5.2.1 skips: one statement (Sid =
# StatementId) in the bus's resource policy, as PutPermission with a Policy would add it.
class EventBusPolicy(CloudFormationModel):
    __module__ = "moto.events.models"

    def __init__(self, name, bus, sid):
        self.name = name
        self.bus = bus
        self.sid = sid

    @property
    def physical_resource_id(self):
        return self.name

    @staticmethod
    def cloudformation_type():
        return "AWS::Events::EventBusPolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        bus_name = properties.get("EventBusName") or "default"
        if not isinstance(bus_name, str):
            bus_name = bus_name.name
        bus = events_models.events_backends[account_id][region_name].describe_event_bus(bus_name.split("/")[-1])
        statement = dict(properties["Statement"])
        statement["Sid"] = properties["StatementId"]
        bus._statements[statement["Sid"]] = events_models.EventBusPolicyStatement.from_dict(statement)
        return cls(resource_name, bus, statement["Sid"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        original_resource.bus.remove_statement(original_resource.sid)
        return cls.create_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--exit-with-stdin" in args:
        args.remove("--exit-with-stdin")
        sys.argv[1:] = args
        threading.Thread(target=_exit_with_stdin, name="exit-with-stdin", daemon=True).start()
    main(args)
