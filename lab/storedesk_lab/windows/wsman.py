"""WS-Management SOAP as Windows' WinRM service reads and writes it (the shell/cmd resource).

Parsing of a request envelope, and the response and fault envelopes Windows sends back.
"""

from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

NS = {
    's': 'http://www.w3.org/2003/05/soap-envelope',
    'a': 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
    'w': 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
    'rsp': 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
    'x': 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
    'p': 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
}
SHELL_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell'
CMD_URI = SHELL_URI + '/cmd'
ACT_CREATE = 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create'
ACT_DELETE = 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete'
ACT_COMMAND = SHELL_URI + '/Command'
ACT_SEND = SHELL_URI + '/Send'
ACT_RECEIVE = SHELL_URI + '/Receive'
ACT_SIGNAL = SHELL_URI + '/Signal'
STATE_RUNNING = SHELL_URI + '/CommandState/Running'
STATE_DONE = SHELL_URI + '/CommandState/Done'
ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous'
FAULT_ACTION = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault'

# Windows' WSManFault codes and texts
SHELL_NOT_FOUND = 2150858843
OPERATION_TIMEOUT = 2150858793
ACTION_NOT_SUPPORTED = 2150858776
SHELL_QUOTA = 2150859174
INTERNAL_ERROR = 2150858879
TIMEOUT_TEXT = 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  '


class SoapError(Exception):
    def __init__(self, status, code, subcode, wsman_code, message):
        super().__init__(message)
        self.status, self.code, self.subcode, self.wsman_code, self.message = status, code, subcode, wsman_code, message


@dataclass
class Request:
    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    operation_timeout: float
    options: dict = field(default_factory=dict)
    body: ET.Element | None = None


def _text(root, path):
    node = root.find(path, NS)
    return node.text.strip() if node is not None and node.text else ''


def duration_secs(value, default=60.0):
    """xs:duration as WS-Man uses it (PT20S, PT20.000S, PT1M30S) in seconds."""
    m = re.match(r'^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$', value or '')
    if not m or not any(m.groups()):
        return default
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def parse(data):
    """A Request from the SOAP bytes; SoapError for what Windows would reject as malformed."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SoapError(400, 's:Sender', 'w:SchemaValidationError', 2150858817,
                        'The SOAP XML in the message does not match the corresponding XML schema definition. ({0})'
                        .format(exc))
    header = root.find('s:Header', NS)
    body = root.find('s:Body', NS)
    if header is None:
        raise SoapError(400, 's:Sender', 'w:SchemaValidationError', 2150858817, 'The SOAP header is missing.')
    options = {}
    for opt in header.findall('w:OptionSet/w:Option', NS):
        options[opt.get('Name')] = (opt.text or '').strip()
    shell_id = None
    for sel in header.findall('w:SelectorSet/w:Selector', NS):
        if sel.get('Name') == 'ShellId':
            shell_id = (sel.text or '').strip()
    return Request(
        action=_text(header, 'a:Action'), message_id=_text(header, 'a:MessageID'),
        resource_uri=_text(header, 'w:ResourceURI'), shell_id=shell_id,
        operation_timeout=duration_secs(_text(header, 'w:OperationTimeout')), options=options,
        body=body[0] if body is not None and len(body) else None)


def envelope(action, relates_to, body=''):
    return (
        '<s:Envelope xml:lang="en-US" xmlns:s="{s}" xmlns:a="{a}" xmlns:x="{x}" xmlns:w="{w}" xmlns:rsp="{rsp}" '
        'xmlns:p="{p}"><s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{mid}</a:MessageID>'
        '<a:To>{anon}</a:To><a:RelatesTo>{rel}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>'
    ).format(action=action, mid=str(uuid.uuid4()).upper(), anon=ANONYMOUS, rel=escape(relates_to), body=body,
             **NS).encode('utf-8')


def fault(err, relates_to, machine):
    body = (
        '<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{sub}</s:Value></s:Subcode></s:Code>'
        '<s:Reason><s:Text xml:lang="en-US">{msg}</s:Text></s:Reason><s:Detail>'
        '<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{wc}" Machine="{m}">'
        '<f:Message>{msg}</f:Message></f:WSManFault></s:Detail></s:Fault>'
    ).format(code=err.code, sub=err.subcode, msg=escape(err.message), wc=err.wsman_code, m=escape(machine))
    return envelope(FAULT_ACTION, relates_to, body)


def shell_not_found(shell_id):
    return SoapError(500, 's:Sender', 'w:InvalidSelectors', SHELL_NOT_FOUND,
                     'The request for the Windows Remote Shell with ShellId {0} failed because the shell was not '
                     'found on the server. Possible causes are: the specified ShellId is incorrect or the shell no '
                     'longer exists on the server. Provide the correct ShellId or create a new shell and retry the '
                     'operation. '.format(shell_id))


def operation_timeout():
    return SoapError(500, 's:Receiver', 'w:TimedOut', OPERATION_TIMEOUT, TIMEOUT_TEXT)


def created(shell_id, address):
    return (
        '<x:ResourceCreated><a:Address>{addr}</a:Address><a:ReferenceParameters><w:ResourceURI>{uri}</w:ResourceURI>'
        '<w:SelectorSet><w:Selector Name="ShellId">{sid}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
        '</x:ResourceCreated><rsp:Shell xmlns:rsp="{rsp}"><rsp:ShellId>{sid}</rsp:ShellId><rsp:ResourceUri>{uri}'
        '</rsp:ResourceUri><rsp:Owner>storedesk</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>'
        '<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams>'
        '<rsp:OutputStreams>stdout stderr</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>'
        '<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>'
    ).format(addr=escape(address), uri=CMD_URI, sid=shell_id, rsp=NS['rsp'])


def command_response(command_id):
    return '<rsp:CommandResponse><rsp:CommandId>{0}</rsp:CommandId></rsp:CommandResponse>'.format(command_id)


def receive_response(command_id, stdout_chunks, stderr_chunks, done, exit_code):
    parts = ['<rsp:ReceiveResponse>']
    for name, chunks in (('stdout', stdout_chunks), ('stderr', stderr_chunks)):
        for chunk in chunks:
            parts.append('<rsp:Stream Name="{0}" CommandId="{1}">{2}</rsp:Stream>'.format(
                name, command_id, base64.b64encode(chunk).decode('ascii')))
    if done:
        parts.append('<rsp:Stream Name="stdout" CommandId="{0}" End="true"></rsp:Stream>'
                     '<rsp:Stream Name="stderr" CommandId="{0}" End="true"></rsp:Stream>'.format(command_id))
        parts.append('<rsp:CommandState CommandId="{0}" State="{1}"><rsp:ExitCode>{2}</rsp:ExitCode>'
                     '</rsp:CommandState>'.format(command_id, STATE_DONE, exit_code))
    else:
        parts.append('<rsp:CommandState CommandId="{0}" State="{1}"></rsp:CommandState>'.format(
            command_id, STATE_RUNNING))
    parts.append('</rsp:ReceiveResponse>')
    return ''.join(parts)
