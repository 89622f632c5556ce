"""CIM, PnP, printing (PrintManagement) and sysprep-precondition cmdlets on the desktop model (see cmdlets.py)."""

from __future__ import annotations

from . import dotnet
from .cmdlets import _find, _name_filter, _obj, cmdlet
from .psvalues import ErrorRecord, PSHash, fail, to_bool, to_int, to_str


# ---------------------------------------------------------------- CIM

@cmdlet('Get-CimInstance', positional=['ClassName'], params=['Filter'])
def get_cim_instance(host, p, piped):
    cls = to_str(p.get('classname')).lower()
    d = host.desktop
    if cls == 'win32_operatingsystem':
        return [_obj('Microsoft.Management.Infrastructure.CimInstance#Win32_OperatingSystem',
                     {'Caption': d.os_caption, 'Version': d.os_version, 'BuildNumber': d.os_build,
                      'CSName': d.computer_name})]
    if cls == 'win32_logicaldisk':
        flt = to_str(p.get('filter')).replace(' ', '').lower()
        if flt not in ('', 'drivetype=3'):
            fail('storedesk fake desktop: WQL filter {0!r} not modelled'.format(p.get('filter')), 'NotImplemented')
        return [_obj('Microsoft.Management.Infrastructure.CimInstance#Win32_LogicalDisk',
                     {'DeviceID': k, 'FreeSpace': v['free'], 'Size': v['size'], 'DriveType': 3})
                for k, v in sorted(d.disks.items())]
    if cls == 'win32_printer':
        return [_obj('Microsoft.Management.Infrastructure.CimInstance#Win32_Printer',
                     {'Name': n, 'DriverName': v['driver'], 'PortName': v['port']}) for n, v in d.printers.items()]
    fail('storedesk fake desktop: CIM class {0} not modelled'.format(p.get('classname')), 'NotImplemented')


@cmdlet('Invoke-CimMethod', positional=['ClassName', 'MethodName', 'Arguments'], params=['InputObject'],
        mutates=True)
def invoke_cim_method(host, p, piped):
    method = to_str(p.get('methodname')).lower()
    target = p.get('inputobject')
    if target is not None and method == 'printtestpage':
        if isinstance(target, list):
            fail("Cannot convert 'System.Object[]' to the type 'Microsoft.Management.Infrastructure.CimInstance' "
                 "required by parameter 'InputObject'.", 'InvalidArgument')
        name = to_str(dotnet.get_member(target, 'Name'))
        host.desktop.test_pages.append(name)
        host.desktop.count('test_page:' + name)
        host.journal('test page ' + name)
        return [_obj('CimMethodResult', {'ReturnValue': 0})]
    if target is None and p.get('inputobject', 1) is None:
        fail("Cannot validate argument on parameter 'InputObject'. The argument is null.", 'InvalidData')
    if to_str(p.get('classname')).lower() == 'win32_process' and method == 'create':
        args = p.get('arguments')
        line = to_str(args['CommandLine'] if isinstance(args, PSHash) else None)
        return [_obj('CimMethodResult', host.create_process(line))]
    fail('storedesk fake desktop: CIM method {0} not modelled'.format(p.get('methodname')), 'NotImplemented')


@cmdlet('Get-PnpDevice', switches=['PresentOnly'], params=['Class'])
def get_pnp_device(host, p, piped):
    """The VM's USB devices, all present (the scripts always pass -PresentOnly; Windows without it also lists
    devices seen before and gone now). -Class filters by PnP class, which the model does not know: refused."""
    from .model import pnp_entry, usb_devices
    if p.get('class') is not None:
        fail('storedesk fake desktop: Get-PnpDevice -Class is not modelled', 'NotImplemented')
    ctx = host.ctx
    devices = [pnp_entry(v, i) for i, v in enumerate(usb_devices(host.desktop, ctx.vm, ctx.mapping_lookup))]
    return [_obj('Microsoft.Management.Infrastructure.CimInstance#Win32_PnPEntity',
                 {'InstanceId': d['instance_id'], 'FriendlyName': d['name'], 'Status': d['status']})
            for d in devices]


# ---------------------------------------------------------------- printing (PrintManagement module)

def _printer_obj(name, v):
    return _obj('Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_Printer',
                {'Name': name, 'DriverName': v['driver'], 'PortName': v['port'], 'Shared': bool(v.get('shared')),
                 'ShareName': v.get('share_name'), 'Comment': v.get('comment') or '',
                 'Location': v.get('location') or ''})


def _not_found(host, p, what, name):
    host.error(ErrorRecord('The specified {0} was not found.'.format(what) if what != 'printer' else
                           "No MSFT_Printer objects found with property 'Name' equal to '{0}'.  Verify the value of "
                           "the property and retry.".format(name), 'ObjectNotFound',
                           'Microsoft.Management.Infrastructure.CimException', 'HRESULT 0x80070709'), p)


@cmdlet('Get-Printer', positional=['Name'])
def get_printer(host, p, piped):
    match = _name_filter(p.get('name'))
    found = [_printer_obj(n, v) for n, v in sorted(host.desktop.printers.items()) if match(n)]
    if not found and p.get('name') is not None and not any(c in to_str(p['name']) for c in '*?'):
        _not_found(host, p, 'printer', to_str(p['name']))
    return found


@cmdlet('Get-PrinterDriver', positional=['Name'])
def get_printer_driver(host, p, piped):
    match = _name_filter(p.get('name'))
    found = [_obj('MSFT_PrinterDriver', {'Name': n, 'InfPath': v.get('inf', '')})
             for n, v in sorted(host.desktop.printer_drivers.items()) if match(n)]
    if not found and p.get('name') is not None:
        host.error(ErrorRecord('The specified printer driver was not found.', 'ObjectNotFound',
                               'Microsoft.Management.Infrastructure.CimException', 'HRESULT 0x80070705'), p)
    return found


@cmdlet('Get-PrinterPort', positional=['Name'])
def get_printer_port(host, p, piped):
    match = _name_filter(p.get('name'))
    found = [_obj('MSFT_TcpIpPrinterPort', {'Name': n, 'PrinterHostAddress': v.get('host', '')})
             for n, v in sorted(host.desktop.printer_ports.items()) if match(n)]
    if not found and p.get('name') is not None:
        host.error(ErrorRecord('The specified port was not found.', 'ObjectNotFound',          # 1796 = 0x704
                               'Microsoft.Management.Infrastructure.CimException', 'HRESULT 0x80070704'), p)
    return found


@cmdlet('Add-PrinterDriver', positional=['Name'], mutates=True)
def add_printer_driver(host, p, piped):
    name = to_str(p.get('name'))
    d = host.desktop
    if _find(d.printer_drivers, name):
        return []
    source = next((v for v in d.driver_store.values()
                   if any(x.lower() == name.lower() for x in v.get('printer_drivers') or [])), None)
    if source is None:
        host.error(ErrorRecord('The specified driver does not exist in the driver store.', 'ObjectNotFound',
                               'Microsoft.Management.Infrastructure.CimException', 'HRESULT 0x80070705'), p)
        return []
    canonical = next(x for x in source['printer_drivers'] if x.lower() == name.lower())
    d.printer_drivers[canonical] = {'inf': 'C:\\Windows\\System32\\DriverStore\\FileRepository\\{0}_amd64\\{1}'
                                    .format(source['original'].lower(), source['original'])}
    host.journal('printer driver ' + canonical)
    return []


@cmdlet('Add-PrinterPort', positional=['Name', 'PrinterHostAddress'],
        params=['PortNumber', 'LprHostAddress', 'LprQueueName'], switches=['LprByteCounting'], mutates=True)
def add_printer_port(host, p, piped):
    name = to_str(p.get('name'))
    if _find(host.desktop.printer_ports, name):
        host.error(ErrorRecord('The specified port already exists.', 'ResourceExists',
                               'Microsoft.Management.Infrastructure.CimException', 'HRESULT 0x800700b7'), p)
        return []
    if p.get('lprhostaddress') is not None:
        entry = {'host': to_str(p['lprhostaddress']), 'protocol': 'lpr', 'queue': to_str(p.get('lprqueuename')),
                 'byte_counting': to_bool(p.get('lprbytecounting'))}
    elif p.get('printerhostaddress') is not None:
        entry = {'host': to_str(p['printerhostaddress']), 'protocol': 'raw',
                 'port': to_int(p['portnumber']) if p.get('portnumber') is not None else 9100}
    else:
        entry = {'host': '', 'protocol': 'local'}
    host.desktop.printer_ports[name] = entry
    host.journal('printer port ' + name)
    return []


_SET_KEYS = (('drivername', 'driver'), ('portname', 'port'), ('shared', 'shared'), ('sharename', 'share_name'),
             ('comment', 'comment'), ('location', 'location'))


def _check_driver_port(host, p):
    if p.get('drivername') is not None and not _find(host.desktop.printer_drivers, p['drivername']):
        fail('The specified driver does not exist. Use add-printerdriver to add a new driver, or specify an existing '
             'driver.', 'ObjectNotFound', 'Microsoft.Management.Infrastructure.CimException')
    if p.get('portname') is not None and not _find(host.desktop.printer_ports, p['portname']):
        fail('The specified port does not exist. Use add-printerport to add a new port, or specify an existing '
             'port.', 'ObjectNotFound', 'Microsoft.Management.Infrastructure.CimException')


@cmdlet('Add-Printer', positional=['Name', 'DriverName'], params=['PortName', 'ShareName', 'Comment', 'Location'],
        switches=['Shared'], mutates=True)
def add_printer(host, p, piped):
    name = to_str(p.get('name'))
    if _find(host.desktop.printers, name):
        host.error(ErrorRecord('The specified printer already exists.', 'ResourceExists',      # 1802 = 0x70A
                               'Microsoft.Management.Infrastructure.CimException', 'HRESULT 0x8007070a'), p)
        return []
    if p.get('drivername') is None or p.get('portname') is None:
        fail('storedesk fake desktop: Add-Printer without -DriverName/-PortName (a connection) is not modelled',
             'NotImplemented')
    _check_driver_port(host, p)
    if to_bool(p.get('shared')) and not to_str(p.get('sharename')):
        p = dict(p, sharename=name)
    host.desktop.printers[name] = {
        'driver': _find(host.desktop.printer_drivers, p['drivername']),
        'port': _find(host.desktop.printer_ports, p['portname']), 'shared': to_bool(p.get('shared')),
        'share_name': to_str(p['sharename']) if p.get('sharename') is not None else None,
        'comment': to_str(p.get('comment')), 'location': to_str(p.get('location'))}
    host.journal('printer ' + name)
    return []


@cmdlet('Set-Printer', positional=['Name'], params=['DriverName', 'PortName', 'ShareName', 'Comment', 'Location',
                                                     'Shared'], mutates=True)
def set_printer(host, p, piped):
    key = _find(host.desktop.printers, p.get('name'))
    if key is None:
        _not_found(host, p, 'printer', to_str(p.get('name')))
        return []
    _check_driver_port(host, p)
    printer = host.desktop.printers[key]
    for param, field in _SET_KEYS:
        if param in p:
            value = p[param]
            if param == 'shared':
                value = to_bool(value)
            elif param == 'drivername':
                value = _find(host.desktop.printer_drivers, value)
            elif param == 'portname':
                value = _find(host.desktop.printer_ports, value)
            else:
                value = to_str(value)
            printer[field] = value
    host.journal('set printer ' + key)
    return []


@cmdlet('Remove-Printer', positional=['Name'], mutates=True)
def remove_printer(host, p, piped):
    key = _find(host.desktop.printers, p.get('name'))
    if key is None:
        _not_found(host, p, 'printer', to_str(p.get('name')))
        return []
    del host.desktop.printers[key]
    host.journal('remove printer ' + key)
    return []


# ---------------------------------------------------------------- sysprep's preconditions

@cmdlet('Get-AppxPackage', positional=['Name'], switches=['AllUsers'])
def get_appx_package(host, p, piped):
    match = _name_filter(p.get('name'))
    return [_obj('Microsoft.Windows.Appx.PackageManager.Commands.AppxPackage', {
        'Name': a['Name'], 'PackageFullName': a.get('PackageFullName', a['Name'] + '_1.0.0.0_x64__8wekyb3d8bbwe'),
        'IsFramework': bool(a.get('IsFramework')), 'NonRemovable': bool(a.get('NonRemovable')),
        'SignatureKind': a.get('SignatureKind', 'Store')}) for a in host.desktop.appx_packages if match(a['Name'])]


@cmdlet('Get-AppxProvisionedPackage', switches=['Online'])
def get_appx_provisioned_package(host, p, piped):
    if not to_bool(p.get('online')):
        fail('storedesk fake desktop: Get-AppxProvisionedPackage -Path (an offline image) is not modelled',
             'NotImplemented')
    return [_obj('Microsoft.Dism.Commands.AppxPackageObject', {'DisplayName': a['Name'],
                                                               'PackageName': a.get('PackageFullName', a['Name'])})
            for a in host.desktop.appx_packages if a.get('provisioned', True)]


@cmdlet('Get-BitLockerVolume', positional=['MountPoint'])
def get_bitlocker_volume(host, p, piped):
    if host.desktop.bitlocker is None:
        host.error(ErrorRecord('BitLocker is not available on this computer.', 'NotInstalled'), p)
        return []
    return [_obj('Microsoft.BitLocker.Structures.BitLockerVolume', {
        'MountPoint': to_str(p.get('mountpoint') or 'C:'), 'VolumeStatus': host.desktop.bitlocker})]
