DROP TABLE courier_message_dispatches;
DROP TABLE courier_messages;
DROP TABLE selfservice_errors;
DROP TABLE selfservice_flows;
DROP TABLE session_devices;
DROP TABLE sessions;
