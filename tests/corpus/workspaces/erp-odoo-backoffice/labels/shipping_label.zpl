^XA
^CI28
^PW812
^LL1218
^FO40,40^A0N,40,40^FDAcme Outdoor GmbH^FS
^FO40,90^A0N,28,28^FDLagerstraße 4, 34117 Kassel^FS
^FO40,180^GB732,3,3^FS
^FO40,220^A0N,32,32^FD{{ partner_name }}^FS
^FO40,260^A0N,32,32^FD{{ street }}^FS
^FO40,300^A0N,32,32^FD{{ zip }} {{ city }}^FS
^FO40,340^A0N,32,32^FD{{ country }}^FS
^FO40,420^BY3^BCN,160,Y,N,N^FD{{ tracking_number }}^FS
^FO40,640^A0N,28,28^FDRef: {{ picking_name }} / {{ client_order_ref }}^FS
^XZ
