/**
 * The SOAP request envelopes of the vim25 methods the router calls.
 *
 * A request is the method's element in the vim25 namespace holding its
 * parameters in the order the vim25 WSDL declares them (a vCenter reads a
 * sequence in order). A managed object reference is written as
 * `<name type="T">value</name>`; the data objects the router sends
 * (EventFilterSpec, PropertyFilterSpec, ...) are exactly the declared types
 * of their parameters, so none needs an `xsi:type`.
 *
 * The result is the same element tree node-soap produced from the WSDL
 * subset (test/unit/vcenter/fixtures/soap-exchanges.json), written with the
 * vim25 namespace as the default one instead of a `vim25:` prefix.
 */
import type { MoRef } from '../transport';

/** A parameter's value: text, a managed object reference, or a data object's fields in order. */
export type SoapValue = string | number | boolean | MoRef | SoapFields;
/** Named values in document order; a name repeated is a repeated element (`pathSet`). */
export type SoapFields = readonly (readonly [name: string, value: SoapValue])[];

/** The SOAPAction of every vim25 request (the release the requests are written for). */
export const SOAP_ACTION = '"urn:vim25/6.7"';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // As character references: a literal CR (or CR LF) would reach the vCenter as LF,
  // and a tab or newline in an attribute as a space (XML's end-of-line and attribute normalization).
  '\t': '&#x9;',
  '\r': '&#xD;',
  '\n': '&#xA;',
};

/** Text or attribute value escaped for XML: every value the router sends (a password with `<&"'`). */
export function xmlEscape(v: string): string {
  return v.replace(/[&<>"'\t\r\n]/g, (c) => ESCAPES[c]);
}

function isMoRef(v: SoapValue): v is MoRef {
  return typeof v === 'object' && !Array.isArray(v);
}

function element(name: string, value: SoapValue): string {
  if (isMoRef(value)) return `<${name} type="${xmlEscape(value.type)}">${xmlEscape(value.value)}</${name}>`;
  if (Array.isArray(value)) return `<${name}>${fields(value as SoapFields)}</${name}>`;
  return `<${name}>${xmlEscape(String(value))}</${name}>`;
}

function fields(list: SoapFields): string {
  let out = '';
  for (const [name, value] of list) out += element(name, value);
  return out;
}

/** The request envelope of vim25 `method` on `_this`, with its other parameters in WSDL order. */
export function soapRequest(method: string, _this: MoRef, params: SoapFields = []): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body>' +
    `<${method} xmlns="urn:vim25">${element('_this', _this)}${fields(params)}</${method}>` +
    '</soap:Body></soap:Envelope>'
  );
}
