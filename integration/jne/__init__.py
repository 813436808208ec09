"""JNE's pickup/cashless API: its field table (``fields``), schema, booking client and local sandbox.

Import the module you need (``integration.jne.client``, ``integration.jne.sandbox`` ...): this
package init imports nothing, so reading the field table needs neither Flask nor requests.
"""
